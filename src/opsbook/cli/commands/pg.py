"""`opsbook pg`: PostgreSQL diagnostics and maintenance on a named or described connection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import emit_json
from opsbook.errors import UsageError
from opsbook.units import parse_duration, parse_size

if TYPE_CHECKING:
    from opsbook.config import Config
    from opsbook.pg.connect import Target
    from opsbook.pg.service import Outcome

app = typer.Typer(
    help="PostgreSQL diagnostics and maintenance: connections, idle connections, VACUUM, "
    "REINDEX, bloat, unused indexes, slow queries, table sizes and growth."
)

ConnectionOption = Annotated[
    str | None,
    typer.Option(
        "--connection",
        "-C",
        help="A connection name from opsbook.yaml or a postgresql:// URL "
        "(default: DATABASE_URL, else DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/DB_NAME).",
        show_default=False,
    ),
]
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="Show at most this many rows.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="pg")


def _target(config: Path | None, connection: str | None) -> tuple[Config, Target]:
    from opsbook.cli.context import open_config
    from opsbook.pg.connect import target

    cfg = open_config(config)
    return cfg, target(cfg, connection, os.environ)


def _show(outcome: Outcome, json: bool) -> None:
    if json:
        emit_json(outcome.data)
    else:
        typer.echo(outcome.text)
    if not outcome.ok:
        raise typer.Exit(1)


def _journal(cfg: Config, action: str, outcome: Outcome, summary: str) -> None:
    from opsbook.cli.context import open_database
    from opsbook.maintenance.record import journal_outcome

    db = open_database(cfg)
    try:
        journal_outcome(db, cfg, action=action, summary=summary, data=outcome.data)
    finally:
        db.dispose()


@app.command("connections")
def connections_command(
    connection: ConnectionOption = None, config: ConfigOption = None, json: JsonOption = False
) -> None:
    """Client connections by state, and by database, user and application."""
    from opsbook.pg import service

    _, where = _target(config, connection)
    _show(service.connections(where), json)


@app.command("kill-idle")
def kill_idle_command(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Idle for longer than this, e.g. 10m, 1h.")
    ],
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="States to end (repeatable): idle, 'idle in transaction', "
            "'idle in transaction (aborted)'. Default: idle.",
        ),
    ] = None,
    all_databases: Annotated[
        bool, typer.Option("--all-databases", help="Also other databases of the server.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="End the listed connections.")] = False,
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """List client connections idle longer than --older-than; with --yes, end exactly those
    (matched by pid, backend_start and state_change, so a reused pid is never hit)."""
    from opsbook.pg import service

    cfg, where = _target(config, connection)
    outcome = service.kill_idle(
        where,
        _seconds(older_than),
        states=state,
        all_databases=all_databases,
        yes=yes,
    )
    if yes and outcome.data["listed"]:
        _journal(cfg, "pg.kill-idle", outcome, outcome.text.splitlines()[-1])
    _show(outcome, json)


@app.command("vacuum")
def vacuum_command(
    table: Annotated[str | None, typer.Argument(help="Table (schema.table); default: all.")] = None,
    analyze: Annotated[bool, typer.Option("--analyze", help="Also update statistics.")] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="VACUUM FULL: rewrites the table under an exclusive lock."),
    ] = False,
    timeout: Annotated[str, typer.Option(help="Cancel after this long (0: no limit).")] = "0",
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """VACUUM [ANALYZE] a table or the whole database (outside any transaction)."""
    from opsbook.pg import service

    cfg, where = _target(config, connection)
    seconds = _seconds(timeout)
    outcome = service.vacuum(where, table, analyze=analyze, full=full, timeout=seconds)
    _journal(cfg, "pg.vacuum", outcome, outcome.text)
    _show(outcome, json)


@app.command("reindex")
def reindex_command(
    table: Annotated[str, typer.Argument(help="Table whose indexes to rebuild (schema.table).")],
    timeout: Annotated[str, typer.Option(help="Cancel after this long (0: no limit).")] = "0",
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """REINDEX TABLE CONCURRENTLY: rebuild a table's indexes without blocking writes."""
    from opsbook.pg import service

    cfg, where = _target(config, connection)
    outcome = service.reindex(where, table, timeout=_seconds(timeout))
    _journal(cfg, "pg.reindex", outcome, outcome.text)
    _show(outcome, json)


@app.command("bloat")
def bloat_command(
    limit: LimitOption = 20,
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Tables with dead rows: dead share, estimated wasted space, last vacuum."""
    from opsbook.pg import service

    _, where = _target(config, connection)
    _show(service.bloat(where, service.check_limit(limit)), json)


@app.command("unused-indexes")
def unused_indexes_command(
    limit: LimitOption = 50,
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Indexes never scanned since statistics were reset (constraint indexes are kept out)."""
    from opsbook.pg import service

    _, where = _target(config, connection)
    _show(service.unused_indexes(where, service.check_limit(limit)), json)


@app.command("slow-queries")
def slow_queries_command(
    min_mean: Annotated[
        str, typer.Option("--min-mean", help="Statements with at least this mean time.")
    ] = "100ms",
    running_for: Annotated[
        str, typer.Option("--running-for", help="Also list queries running this long now.")
    ] = "5s",
    limit: LimitOption = 20,
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Slowest statements from pg_stat_statements (or how to enable it; exit 1 then), and
    queries running long right now."""
    from opsbook.pg import service

    _, where = _target(config, connection)
    outcome = service.slow_queries(
        where,
        min_mean_ms=_seconds(min_mean) * 1000,
        running_for=_seconds(running_for),
        limit=service.check_limit(limit),
    )
    _show(outcome, json)


@app.command("table-sizes")
def table_sizes_command(
    limit: LimitOption = 20,
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Largest tables: total, table, index sizes and estimated rows."""
    from opsbook.pg import service

    _, where = _target(config, connection)
    _show(service.table_sizes(where, service.check_limit(limit)), json)


@app.command("growth")
def growth_command(
    record: Annotated[bool, typer.Option(help="Record the current size as a sample first.")] = True,
    disk_free: Annotated[
        str | None,
        typer.Option(
            "--disk-free",
            help="Free space on the database's disk, e.g. 120GB "
            "(default: measured when PostgreSQL runs on this machine).",
        ),
    ] = None,
    connection: ConnectionOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Database size over the recorded samples, growth per day, and when the disk fills."""
    from opsbook.cli.context import open_database
    from opsbook.clock import SystemClock
    from opsbook.pg import service

    cfg, where = _target(config, connection)
    free = _bytes(disk_free) if disk_free else None
    db = open_database(cfg)
    try:
        outcome = service.growth(where, db, SystemClock().now(), record=record, disk_free=free)
    finally:
        db.dispose()
    _show(outcome, json)


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _bytes(text: str) -> float:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
