"""The `pg` operations as the CLI and the actions call them: each returns text and data.

`Outcome.text` is what `opsbook pg ...` prints and what a runbook step's journal keeps;
`Outcome.data` is the command's `--json` document (documented in docs/maintenance.md).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from opsbook.errors import ConflictError, InputError, UsageError
from opsbook.maintenance.samples import Sample, series, write_samples
from opsbook.pg import changes, diagnostics
from opsbook.pg.connect import Target, connect
from opsbook.pg.growth import SAMPLE_NAME, project
from opsbook.storage import Database
from opsbook.texttable import text_table
from opsbook.units import format_duration

IDLE_STATES = ("idle", "idle in transaction", "idle in transaction (aborted)")
ENABLE_STATEMENTS = [
    "Add it to postgresql.conf: shared_preload_libraries = 'pg_stat_statements' "
    "(keep any libraries already listed), then restart PostgreSQL.",
    "In the database: CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
    "Optional: pg_stat_statements.track = all to include statements inside functions.",
]


@dataclass
class Outcome:
    ok: bool
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def human_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _sql_error(where: Target, exc: psycopg.Error) -> ConflictError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ConflictError(f"{where.label}: {detail}")


def connections(where: Target) -> Outcome:
    with connect(where) as conn:
        data = diagnostics.connections(conn)
    data["database"] = where.label
    states = ", ".join(f"{s} {n}" for s, n in data["by_state"].items()) or "none"
    head = f"{data['total']} of {data['max_connections']} connections in use ({states})"
    rows = [
        [
            g["database"],
            g["user"],
            g["application"],
            g["state"],
            g["count"],
            format_duration(g["longest_in_state"] or 0),
        ]
        for g in data["groups"]
    ]
    table = text_table(["database", "user", "application", "state", "count", "longest"], rows)
    return Outcome(True, f"{head}\n{table}", data)


def kill_idle(
    where: Target,
    older_than: float,
    *,
    states: list[str] | None = None,
    all_databases: bool = False,
    yes: bool = False,
) -> Outcome:
    """List connections idle longer than `older_than` seconds; end them only with `yes`."""
    chosen = states or ["idle"]
    unknown = [s for s in chosen if s not in IDLE_STATES]
    if unknown:
        raise UsageError(f"unknown state {unknown[0]!r} (use {', '.join(IDLE_STATES)})")
    with connect(where, writes=yes) as conn:
        listed = diagnostics.idle_connections(conn, older_than, chosen, all_databases)
        ended, skipped = changes.end_connections(conn, listed) if yes else ([], [])
    rows = [
        [
            r["pid"],
            r["database"],
            r["user"],
            r["application"],
            r["client"] or "local",
            r["state"],
            format_duration(r["idle_for"] or 0),
        ]
        for r in listed
    ]
    table = text_table(["pid", "database", "user", "application", "client", "state", "idle"], rows)
    if not yes:
        verb = f"Would end {len(listed)} connection(s); run again with --yes to end them."
    else:
        verb = f"Ended {len(ended)} connection(s)" + (
            f"; left {len(skipped)} that changed since listed" if skipped else ""
        )
    data = {
        "database": where.label,
        "older_than_seconds": older_than,
        "states": chosen,
        "listed": listed,
        "ended": ended,
        "skipped": skipped,
        "dry_run": not yes,
    }
    return Outcome(True, f"{table}\n{verb}", data)


def vacuum(
    where: Target, table: str | None, *, analyze: bool, full: bool = False, timeout: float = 0
) -> Outcome:
    with connect(where, timeout=timeout, writes=True) as conn:
        try:
            ran = changes.vacuum(conn, table, analyze=analyze, full=full)
        except psycopg.Error as exc:
            raise _sql_error(where, exc) from None
    data = {"database": where.label, "table": table, **ran}
    return Outcome(True, f"{ran['statement']} finished in {ran['seconds']:.2f}s", data)


def reindex(where: Target, table: str, *, timeout: float = 0) -> Outcome:
    with connect(where, timeout=timeout, writes=True) as conn:
        try:
            ran = changes.reindex(conn, table)
        except psycopg.Error as exc:
            raise _sql_error(where, exc) from None
    data = {"database": where.label, "table": table, **ran}
    return Outcome(True, f"{ran['statement']} finished in {ran['seconds']:.2f}s", data)


def bloat(where: Target, limit: int = 20) -> Outcome:
    with connect(where) as conn:
        rows = diagnostics.bloat(conn, limit)
    advised = [f"{r['schema']}.{r['table']}" for r in rows if r["vacuum_advised"]]
    lines = [
        [
            f"{r['schema']}.{r['table']}",
            r["live"],
            r["dead"],
            f"{(r['dead_ratio'] or 0):.1%}",
            human_bytes(r["wasted_bytes_estimate"]),
            r["last_vacuum"] or "never",
            "yes" if r["vacuum_advised"] else "",
        ]
        for r in rows
    ]
    headers = ["table", "live", "dead", "dead %", "wasted (est.)", "last vacuum", "vacuum?"]
    text = text_table(headers, lines)
    if advised:
        text += "\nVacuum advised: " + ", ".join(advised)
    return Outcome(True, text, {"database": where.label, "tables": rows, "vacuum_advised": advised})


def unused_indexes(where: Target, limit: int = 50) -> Outcome:
    with connect(where) as conn:
        data = diagnostics.unused_indexes(conn, limit)
    rows = [
        [f"{r['schema']}.{r['index']}", f"{r['schema']}.{r['table']}", human_bytes(r["bytes"])]
        for r in data["indexes"]
    ]
    since = data["since"] or "the server started"
    text = f"Indexes never scanned since {since}:\n" + text_table(["index", "table", "size"], rows)
    return Outcome(True, text, {"database": where.label, **data})


def slow_queries(
    where: Target, *, min_mean_ms: float = 100.0, running_for: float = 5.0, limit: int = 20
) -> Outcome:
    """Slowest statements (pg_stat_statements) and statements running long right now."""
    with connect(where) as conn:
        available, reason = diagnostics.statements_available(conn)
        statements = diagnostics.slow_statements(conn, min_mean_ms, limit) if available else []
        running = diagnostics.running_queries(conn, running_for, limit)
    parts = []
    if available:
        rows = [[s["mean_ms"], s["calls"], s["total_ms"], s["query"]] for s in statements]
        parts.append(
            f"Statements with a mean of {min_mean_ms:g} ms or more:\n"
            + text_table(["mean ms", "calls", "total ms", "query"], rows)
        )
    else:
        steps = "\n".join(f"  {i}. {step}" for i, step in enumerate(ENABLE_STATEMENTS, 1))
        parts.append(
            f"pg_stat_statements is not available: {reason}.\n"
            f"Slow statements are recorded by it. To enable it:\n{steps}"
        )
    rows = [
        [r["pid"], format_duration(r["running_for"] or 0), r["user"], r["query"]] for r in running
    ]
    parts.append(
        f"Running for {format_duration(running_for)} or longer now:\n"
        + text_table(["pid", "running", "user", "query"], rows)
    )
    data = {
        "database": where.label,
        "pg_stat_statements": {
            "available": available,
            "reason": reason or None,
            "how_to_enable": [] if available else ENABLE_STATEMENTS,
        },
        "statements": statements,
        "running": running,
    }
    return Outcome(available, "\n\n".join(parts), data)


def table_sizes(where: Target, limit: int = 20) -> Outcome:
    with connect(where) as conn:
        rows = diagnostics.table_sizes(conn, limit)
    lines = [
        [
            f"{r['schema']}.{r['table']}",
            human_bytes(r["total_bytes"]),
            human_bytes(r["table_bytes"]),
            human_bytes(r["index_bytes"]),
            r["rows_estimate"],
        ]
        for r in rows
    ]
    text = text_table(["table", "total", "table", "indexes", "rows (est.)"], lines)
    return Outcome(True, text, {"database": where.label, "tables": rows})


def growth(
    where: Target,
    store: Database,
    now: datetime,
    *,
    record: bool = True,
    disk_free: float | None = None,
) -> Outcome:
    """Record the database's size (unless `record` is off) and project when the disk fills.

    The free space is `disk_free` bytes, else measured on the data directory when the server
    runs on this machine and its directory is readable.
    """
    with connect(where) as conn:
        name, size, directory = diagnostics.database_size(conn)
    labels = {"database": name, "connection": where.label}
    measured = disk_free if disk_free is not None else _local_free(directory)
    with store.write() as session:
        if record:
            write_samples(session, [Sample(SAMPLE_NAME, labels, float(size), now)])
        points = series(session, SAMPLE_NAME, labels)
    result = project(points, measured)
    data = {
        "database": name,
        "connection": where.label,
        "size_bytes": size,
        "recorded": record,
        "samples": result.samples,
        "first_sample": result.first,
        "bytes_per_day": result.bytes_per_day,
        "disk_free_bytes": result.disk_free_bytes,
        "days_until_full": result.days_until_full,
        "full_at": result.full_at,
    }
    return Outcome(True, _growth_text(name, size, result), data)


def _growth_text(name: str, size: int, result: Any) -> str:
    lines = [f"{name}: {human_bytes(size)} now, {result.samples} size sample(s)"]
    if result.bytes_per_day is None:
        lines.append("Growth: not known yet (record samples over time: pg growth on a schedule).")
        return "\n".join(lines)
    lines.append(f"Growth: {human_bytes(result.bytes_per_day)} per day")
    if result.disk_free_bytes is None:
        lines.append("Disk: free space unknown (give --disk-free, or run opsbook on the server).")
    elif result.full_at is None:
        lines.append(f"Disk: {human_bytes(result.disk_free_bytes)} free; not filling at this rate.")
    else:
        lines.append(
            f"Disk: {human_bytes(result.disk_free_bytes)} free; full in "
            f"{result.days_until_full:.1f} days, around {result.full_at:%Y-%m-%d %H:%M} UTC."
        )
    return "\n".join(lines)


def _local_free(directory: str) -> float | None:
    if not directory:
        return None
    try:
        return float(shutil.disk_usage(directory).free)
    except OSError:
        return None


def check_limit(value: int) -> int:
    if value < 1:
        raise InputError("--limit must be 1 or more")
    return value
