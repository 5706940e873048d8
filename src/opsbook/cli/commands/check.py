"""`opsbook check` runs every health check once; `opsbook watch` runs them until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from opsbook.checks.model import CheckResult, Status
from opsbook.checks.rollup import rollup
from opsbook.checks.specs import configured_checks
from opsbook.cli.context import open_config
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, err_console, escape
from opsbook.clock import SystemClock
from opsbook.errors import UsageError

if TYPE_CHECKING:
    from opsbook.runtime import Runtime, Worker

STYLE = {
    Status.HEALTHY: "green",
    Status.DEGRADED: "yellow",
    Status.UNHEALTHY: "red",
    Status.UNKNOWN: "dim",
}

OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="NAME",
        help="Run only this check (repeat for several).",
        show_default=False,
    ),
]


def register(root: typer.Typer) -> None:
    root.command("check")(check_command)
    root.command("watch")(watch_command)


def check_command(
    config: ConfigOption = None, only: OnlyOption = None, json: JsonOption = False
) -> None:
    """Run every health check once, concurrently, each within its own timeout.

    Exit 0 when all are healthy, 1 when the rollup is degraded or unhealthy, 2 for bad config.
    """
    from opsbook.checks.probe import ProbeContext
    from opsbook.checks.runner import run_once
    from opsbook.checks.schema import report_json

    cfg = open_config(config)
    checks = configured_checks(cfg, only or ())
    if not checks:
        raise UsageError(f"no checks configured in {cfg.path or 'the defaults'}; add `checks:`")
    clock = SystemClock()
    ctx = ProbeContext(cfg, clock, cfg.redactor)
    with err_console.status(f"running {len(checks)} checks…", spinner="dots"):
        results = asyncio.run(run_once(checks, ctx))
    overall = rollup(r.status for r in results)
    if json:
        emit_json(report_json(results, clock.now()))
    else:
        _print_table(results, overall)
    if overall is not Status.HEALTHY:
        raise typer.Exit(1)


def _print_table(results: list[CheckResult], overall: Status) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("check", "type", "status", "latency", "detail"):
        table.add_column(column, justify="right" if column == "latency" else "left")
    for r in results:
        name = r.name if r.critical else f"{r.name} [dim](non-critical)[/]"
        table.add_row(
            name,
            r.type,
            f"[{STYLE[r.status]}]{r.status.value}[/]",
            f"{r.latency * 1000:.0f} ms",
            escape(r.error or ""),
        )
    console.print(table)
    failing = sum(r.status is not Status.HEALTHY for r in results)
    console.print(
        f"\n[bold {STYLE[overall]}]{overall.value}[/]: "
        f"{len(results) - failing} of {len(results)} checks healthy"
    )


NodeOption = Annotated[
    str | None,
    typer.Option(
        "--node-id",
        help="This node's id among the nodes sharing the store (default: host:pid).",
        show_default=False,
    ),
]
PROGRESS_EVERY_SECONDS = 10.0


def watch_command(config: ConfigOption = None, node_id: NodeOption = None) -> None:
    """Run the health checks on their intervals, with every other background worker, until
    stopped (Ctrl-C or SIGTERM). Results, metrics and state changes go to the store.
    """
    import logging

    from rich.logging import RichHandler

    from opsbook.cli.context import open_database
    from opsbook.cluster.node import node_started
    from opsbook.runtime import Runtime, default_node_id, install_log_redaction, worker_factories

    cfg = open_config(config)
    configured_checks(cfg)  # bad config: exit 2 before anything starts
    db = open_database(cfg)
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, markup=False)],
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    install_log_redaction(cfg.redactor)
    runtime = Runtime(cfg, db, node_id=node_id or default_node_id())
    try:
        with node_started(runtime):
            workers = [w for w in (f(runtime) for f in worker_factories()) if w is not None]
            _freeze_startup_objects()
            code = asyncio.run(_watch(runtime, workers))
    finally:
        db.dispose()
    raise typer.Exit(code)


def _freeze_startup_objects() -> None:
    """Keep what start-up built (modules, config, mappers) out of every later garbage
    collection: a full collection over it stalls the event loop for hundreds of milliseconds
    and delays every check due meanwhile."""
    import gc

    gc.collect()
    gc.freeze()


async def _watch(runtime: Runtime, workers: list[Worker]) -> int:
    import signal

    from opsbook.runtime import run_workers

    stop = asyncio.Event()
    caught: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        caught.append(signum)
        err_console.print("stopping… (finishing writes)")
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C interrupts at once

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    checks = len(configured_checks(runtime.config))
    if not checks:
        err_console.print("[yellow]warning:[/] no checks configured; running the other workers")
    err_console.print(
        f"watching {checks} checks with {len(workers)} workers on {runtime.db.display_url()} "
        f"as {runtime.node_id}; Ctrl-C to stop"
    )
    progress = asyncio.create_task(_progress(runtime, workers, stop))
    await run_workers(workers, stop)
    progress.cancel()
    await asyncio.gather(progress, return_exceptions=True)
    _print_progress(runtime, workers)
    return 130 if signal.SIGINT in caught else 0


async def _progress(runtime: Runtime, workers: list[Worker], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PROGRESS_EVERY_SECONDS)
        if not stop.is_set():
            await asyncio.to_thread(_print_progress, runtime, workers)


def _print_progress(runtime: Runtime, workers: list[Worker]) -> None:
    from opsbook.checks.status import check_views
    from opsbook.checks.worker import CheckWorker

    with runtime.db.read() as session:
        views = check_views(session, runtime.clock.now())
    counts = {s: sum(v.status is s for v in views) for s in Status}
    parts = [f"[{STYLE[s]}]{counts[s]} {s.value}[/]" for s in Status if counts[s]]
    line = f"{len(views)} checks: " + ", ".join(parts or ["none yet"])
    for worker in workers:
        if isinstance(worker, CheckWorker):
            p99 = worker.stats.lag_percentile(99)
            lag = f" · lag p99 {p99 * 1000:.0f} ms" if p99 is not None else ""
            written = worker.writer.stats
            cost = worker.stats.claim_cost()
            claim = f" · claim {cost * 1000:.2f} ms/run" if cost is not None else ""
            line += f" · {worker.stats.runs} runs{lag}{claim} · {written.written} samples written"
            if written.failed_flushes:
                line += f" · [red]store: {escape(written.last_error)}[/]"
    err_console.print(line)
