"""`opsbook logs scan` itself, apart from the CLI framework: the Typer command and the quick
entry point (`opsbook.cli.quick`) both run it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsbook.clock import Clock
    from opsbook.logs.scan import Progress


def scan_logs(
    files: list[Path],
    fmt: str = "auto",
    since: str | None = None,
    threshold: int = 50,
    *,
    record: bool = False,
    config: Path | None = None,
    json: bool = False,
) -> int:
    """Scan, print the report (text or JSON), maybe record it; 1 when brute force or attacks
    were found, else 0."""
    from opsbook.clock import SystemClock
    from opsbook.logs.service import ScanRequest, run_scan

    clock = SystemClock()
    with _progress(enabled=not json) as progress:
        text, report = run_scan(ScanRequest(files, fmt, since, threshold), clock, progress)
    if record:
        _record(config, report, clock)
    if json:
        from opsbook.cli.output import emit_json

        emit_json(report)
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    security = report["security"]
    attacked = any(a["count"] for a in security["attacks"].values())
    return 1 if security["brute_force"] or attacked else 0


def _record(config: Path | None, report: dict[str, Any], clock: Clock) -> None:
    from opsbook.cli.context import open_config, open_database
    from opsbook.cli.output import err_console
    from opsbook.logs.metrics import report_samples
    from opsbook.maintenance.samples import write_samples

    cfg = open_config(config)
    db = open_database(cfg)
    try:
        with db.write() as session:
            written = write_samples(session, report_samples(report, clock.now()))
    finally:
        db.dispose()
    err_console.print(f"recorded {written} metric samples", highlight=False)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Progress | None]:
    """A byte counter on stderr while a long scan runs (only on a terminal)."""
    if not enabled:
        yield None
        return
    from opsbook.cli.output import err_console

    if not err_console.is_terminal:
        yield None
        return
    from rich.progress import DownloadColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        DownloadColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task("scanning", total=None)

    def update(name: str, done: int) -> None:
        bar.update(task, description=f"scanning {name}", completed=done)

    with bar:
        yield update
