"""`opsbook logs`: scan access, JSON and application logs; rotate and clean up log folders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import emit_json

if TYPE_CHECKING:
    from opsbook.logs.service import HousekeepingRequest

app = typer.Typer(help="Scan logs for errors, slow requests and attacks; rotate and clean them up.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="logs")


@app.command("scan")
def scan_command(
    files: Annotated[list[Path], typer.Argument(help="Log files; .gz files are read directly.")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="combined (Apache/NCSA), nginx (combined + $request_time), json, app, or auto "
            "(detected per file).",
        ),
    ] = "auto",
    since: Annotated[
        str | None,
        typer.Option(help="Only lines from this long ago until now, e.g. 24h, 30m, 7d."),
    ] = None,
    threshold: Annotated[
        int, typer.Option(help="Flag an IP as brute force above this many failed logins.")
    ] = 50,
    record: Annotated[
        bool,
        typer.Option(help="Also store the figures as metric samples (for alert rules)."),
    ] = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Requests, status codes, error rates, response times, busiest endpoints, denied IPs,
    failed logins and brute force, attack signatures, and application ERROR/WARN per hour,
    in one pass over the files. Exit 1 when brute force or attacks were found."""
    from opsbook.cli.logs_scan import scan_logs

    code = scan_logs(files, format, since, threshold, record=record, config=config, json=json)
    if code:
        raise typer.Exit(code)


PatternOption = Annotated[
    list[str] | None,
    typer.Option("--pattern", "-p", help="File name pattern (repeatable), e.g. '*.log'."),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it (without: only list).")]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Only list what would be done (the default; wins over --yes)."),
]


@app.command("rotate")
def rotate_command(
    folders: Annotated[list[Path], typer.Argument(help="Log folders, walked recursively.")],
    pattern: PatternOption = None,
    compress_after: Annotated[
        str, typer.Option(help="gzip matching files older than this (default pattern *.log).")
    ] = "7d",
    delete_after: Annotated[str, typer.Option(help="Delete .gz archives older than this.")] = "30d",
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Compress logs older than --compress-after and delete archives older than --delete-after.
    Lists what it would do and what that frees; acts only with --yes."""
    from opsbook.clock import SystemClock
    from opsbook.logs.service import HousekeepingRequest, run_rotate

    request = HousekeepingRequest(
        folders, pattern or [], compress_after, delete_after, yes=yes and not dry_run
    )
    text, data = run_rotate(request, SystemClock())
    _finish_housekeeping(config, "logs.rotate", request, text, data, json)


@app.command("cleanup")
def cleanup_command(
    folders: Annotated[list[Path], typer.Argument(help="Folders, walked recursively.")],
    pattern: PatternOption = None,
    older_than: Annotated[str, typer.Option(help="Delete matching files older than this.")] = "7d",
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Disk emergency: delete files matching --pattern older than --older-than, largest first.
    Lists them and the space freed; deletes only with --yes."""
    from opsbook.clock import SystemClock
    from opsbook.logs.service import HousekeepingRequest, run_cleanup

    request = HousekeepingRequest(
        folders, pattern or [], older_than=older_than, yes=yes and not dry_run
    )
    text, data = run_cleanup(request, SystemClock())
    _finish_housekeeping(config, "logs.cleanup", request, text, data, json)


def _finish_housekeeping(
    config: Path | None,
    action: str,
    request: HousekeepingRequest,
    text: str,
    data: dict[str, Any],
    json: bool,
) -> None:
    if request.yes and data["files"]:
        from opsbook.cli.context import open_config, open_database
        from opsbook.maintenance.record import journal_outcome

        cfg = open_config(config)
        db = open_database(cfg)
        try:
            summary = text.splitlines()[-1]
            journal_outcome(db, cfg, action=action, summary=summary, data=data)
        finally:
            db.dispose()
    if json:
        emit_json(data)
    else:
        typer.echo(text)
    if data["errors"]:
        raise typer.Exit(1)
