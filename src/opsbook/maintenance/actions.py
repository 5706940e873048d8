"""The `pg ...` and `logs ...` actions that runbooks (```opsbook blocks) and schedules call.

Each takes the same arguments as its CLI command and returns the same text and data. Actions
that end connections or delete files are `dangerous`: they act only when the line says
`--yes`, the caller confirmed (`ctx.yes`) and it is not a dry run; otherwise they only list.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from opsbook.actions import Action, ActionContext, ActionRegistry, ActionResult
from opsbook.errors import UnavailableError, UsageError
from opsbook.units import parse_duration, parse_size

Handler = Callable[[list[str], ActionContext], ActionResult]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _parser(prog: str, *, connection: bool = True) -> _Parser:
    parser = _Parser(prog=prog, add_help=False)
    if connection:
        parser.add_argument("--connection", "-C")
    parser.add_argument("--json", action="store_true")  # accepted; actions always return data
    return parser


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _acts(ctx: ActionContext, asked: bool) -> tuple[bool, str]:
    """Whether a dangerous action may act, and why not when it may not."""
    if not asked:
        return False, ""
    if ctx.dry_run:
        return False, "Dry run: listed only."
    if not ctx.yes:
        return False, "Not confirmed: listed only (this step needs confirmation to act)."
    return True, ""


def _result(ok: bool, text: str, data: dict[str, Any], note: str = "") -> ActionResult:
    return ActionResult(ok=ok and not note, output=f"{text}\n{note}" if note else text, data=data)


def _target(ctx: ActionContext, ns: argparse.Namespace) -> Any:
    from opsbook.pg.connect import target

    return target(ctx.config, ns.connection, ctx.env)


def pg_read(name: str, limit: int) -> Handler:
    def run(args: list[str], ctx: ActionContext) -> ActionResult:
        from opsbook.pg import service

        parser = _parser(f"pg {name}")
        parser.add_argument("--limit", "-n", type=int, default=limit)
        ns = parser.parse_args(args)
        where = _target(ctx, ns)
        calls: dict[str, Callable[[], service.Outcome]] = {
            "connections": lambda: service.connections(where),
            "bloat": lambda: service.bloat(where, service.check_limit(ns.limit)),
            "unused-indexes": lambda: service.unused_indexes(where, service.check_limit(ns.limit)),
            "table-sizes": lambda: service.table_sizes(where, service.check_limit(ns.limit)),
        }
        outcome = calls[name]()
        return _result(outcome.ok, outcome.text, outcome.data)

    return run


def pg_kill_idle(args: list[str], ctx: ActionContext) -> ActionResult:
    from opsbook.pg import service

    parser = _parser("pg kill-idle")
    parser.add_argument("--older-than", required=True)
    parser.add_argument("--state", action="append")
    parser.add_argument("--all-databases", action="store_true")
    parser.add_argument("--yes", "-y", action="store_true")
    ns = parser.parse_args(args)
    act, note = _acts(ctx, ns.yes)
    outcome = service.kill_idle(
        _target(ctx, ns),
        _seconds(ns.older_than),
        states=ns.state,
        all_databases=ns.all_databases,
        yes=act,
    )
    return _result(outcome.ok, outcome.text, outcome.data, note)


def pg_vacuum(args: list[str], ctx: ActionContext) -> ActionResult:
    from opsbook.pg import service

    parser = _parser("pg vacuum")
    parser.add_argument("table", nargs="?")
    parser.add_argument("--analyze", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--timeout", default="0")
    ns = parser.parse_args(args)
    if ctx.dry_run:
        words = ["VACUUM", "FULL" if ns.full else "", "ANALYZE" if ns.analyze else ""]
        planned = " ".join(w for w in [*words, ns.table or ""] if w)
        return ActionResult(True, f"Dry run: would run {planned}", {"dry_run": True})
    outcome = service.vacuum(
        _target(ctx, ns), ns.table, analyze=ns.analyze, full=ns.full, timeout=_seconds(ns.timeout)
    )
    return _result(outcome.ok, outcome.text, outcome.data)


def pg_reindex(args: list[str], ctx: ActionContext) -> ActionResult:
    from opsbook.pg import service

    parser = _parser("pg reindex")
    parser.add_argument("table")
    parser.add_argument("--timeout", default="0")
    ns = parser.parse_args(args)
    if ctx.dry_run:
        text = f"Dry run: would run REINDEX TABLE CONCURRENTLY {ns.table}"
        return ActionResult(True, text, {"dry_run": True})
    outcome = service.reindex(_target(ctx, ns), ns.table, timeout=_seconds(ns.timeout))
    return _result(outcome.ok, outcome.text, outcome.data)


def pg_slow_queries(args: list[str], ctx: ActionContext) -> ActionResult:
    from opsbook.pg import service

    parser = _parser("pg slow-queries")
    parser.add_argument("--min-mean", default="100ms")
    parser.add_argument("--running-for", default="5s")
    parser.add_argument("--limit", "-n", type=int, default=20)
    ns = parser.parse_args(args)
    outcome = service.slow_queries(
        _target(ctx, ns),
        min_mean_ms=_seconds(ns.min_mean) * 1000,
        running_for=_seconds(ns.running_for),
        limit=service.check_limit(ns.limit),
    )
    return _result(outcome.ok, outcome.text, outcome.data)


def pg_growth(args: list[str], ctx: ActionContext) -> ActionResult:
    from opsbook.pg import service

    parser = _parser("pg growth")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--disk-free")
    ns = parser.parse_args(args)
    if ctx.db is None:
        raise UnavailableError("pg growth needs the opsbook store to keep its size samples")
    try:
        free = parse_size(ns.disk_free) if ns.disk_free else None
    except ValueError as exc:
        raise UsageError(f"--disk-free: {exc}") from None
    outcome = service.growth(
        _target(ctx, ns), ctx.db, ctx.clock.now(), record=not ns.no_record, disk_free=free
    )
    return _result(outcome.ok, outcome.text, outcome.data)


def logs_scan(args: list[str], ctx: ActionContext) -> ActionResult:
    from opsbook.logs.service import parse_scan_args, run_scan

    wants_record = "--record" in args
    request = parse_scan_args([a for a in args if a != "--record"])
    text, report = run_scan(request, ctx.clock)
    if wants_record:
        if ctx.db is None:
            raise UnavailableError("logs scan --record needs the opsbook store")
        from opsbook.logs.metrics import report_samples
        from opsbook.maintenance.samples import write_samples

        with ctx.db.write() as session:
            write_samples(session, report_samples(report, ctx.clock.now()))
    security = report["security"]
    clean = not security["brute_force"] and not any(
        a["count"] for a in security["attacks"].values()
    )
    return ActionResult(ok=clean, output=text, data=report)


def logs_housekeeping(kind: str) -> Handler:
    def run(args: list[str], ctx: ActionContext) -> ActionResult:
        from opsbook.logs import service

        parse = service.parse_rotate_args if kind == "rotate" else service.parse_cleanup_args
        request = parse(args)
        request.yes, note = _acts(ctx, request.yes)
        runner = service.run_rotate if kind == "rotate" else service.run_cleanup
        text, data = runner(request, ctx.clock)
        return _result(not data["errors"], text, data, note)

    return run


def _actions() -> Sequence[Action]:
    return (
        Action("pg connections", pg_read("connections", 50), "Client connections by state."),
        Action(
            "pg kill-idle",
            pg_kill_idle,
            "End connections idle longer than --older-than (with --yes).",
            dangerous=True,
        ),
        Action("pg vacuum", pg_vacuum, "VACUUM [ANALYZE] a table or the database."),
        Action("pg reindex", pg_reindex, "REINDEX TABLE CONCURRENTLY."),
        Action("pg bloat", pg_read("bloat", 20), "Tables with dead rows and wasted space."),
        Action("pg unused-indexes", pg_read("unused-indexes", 50), "Indexes never scanned."),
        Action("pg slow-queries", pg_slow_queries, "Slowest statements and long runners."),
        Action("pg table-sizes", pg_read("table-sizes", 20), "Largest tables."),
        Action("pg growth", pg_growth, "Record the database size and project disk full."),
        Action("logs scan", logs_scan, "Requests, errors, attacks and logins in log files."),
        Action(
            "logs rotate",
            logs_housekeeping("rotate"),
            "Compress old logs, delete old archives (with --yes).",
            dangerous=True,
        ),
        Action(
            "logs cleanup",
            logs_housekeeping("cleanup"),
            "Delete old files matching patterns (with --yes).",
            dangerous=True,
        ),
    )


def register_actions(registry: ActionRegistry) -> None:
    """Register every pg and logs action."""
    for action in _actions():
        registry.register(action)
