"""Maintenance that changes the database: ending idle connections, VACUUM, REINDEX."""

from __future__ import annotations

import time
from typing import Any

from psycopg import sql

from opsbook.pg.connect import relation
from opsbook.pg.diagnostics import Conn


def end_connections(conn: Conn, listed: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """End exactly the listed backends; returns (ended pids, pids skipped).

    A backend is ended only while its pid, backend_start and state_change are still the ones
    listed: a pid reused by a new connection, or a connection that did something since it was
    listed, is left alone.
    """
    ended: list[int] = []
    skipped: list[int] = []
    for row in listed:
        hit = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid = %s AND backend_start = %s::timestamptz"
            " AND state_change = %s::timestamptz AND state = %s",
            (row["pid"], row["backend_start"], row["state_change"], row["state"]),
        ).fetchone()
        (ended if hit and hit[0] else skipped).append(int(row["pid"]))
    return ended, skipped


def vacuum(conn: Conn, table: str | None, *, analyze: bool, full: bool) -> dict[str, Any]:
    """VACUUM [FULL] [ANALYZE] one table or the whole database; returns what ran and how long."""
    options = [sql.SQL(word) for word, on in (("FULL", full), ("ANALYZE", analyze)) if on]
    statement: sql.SQL | sql.Composed = sql.SQL("VACUUM")
    if options:
        statement = sql.SQL("VACUUM ({})").format(sql.SQL(", ").join(options))
    if table:
        statement = sql.SQL("{} {}").format(statement, relation(conn, table))
    return _timed(conn, statement)


def reindex(conn: Conn, table: str) -> dict[str, Any]:
    """REINDEX TABLE CONCURRENTLY: rebuilds the table's indexes without blocking writes."""
    statement = sql.SQL("REINDEX TABLE CONCURRENTLY {}").format(relation(conn, table))
    return _timed(conn, statement)


def _timed(conn: Conn, statement: sql.SQL | sql.Composed) -> dict[str, Any]:
    text = statement.as_string(conn)
    started = time.monotonic()
    conn.execute(statement)
    return {"statement": text, "seconds": round(time.monotonic() - started, 3)}
