"""Read-only diagnostics: connections, bloat, unused indexes, slow queries, table sizes.

Each function returns plain rows (dicts of JSON-ready values); `service.py` turns them into
the text and JSON the CLI prints and the actions return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

Conn = psycopg.Connection[tuple[object, ...]]


def _rows(
    conn: Conn, query: str | sql.Composed, params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return [{k: _plain(v) for k, v in row.items()} for row in cur.fetchall()]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "total_seconds"):
        return round(value.total_seconds(), 3)
    if value.__class__.__name__ == "Decimal":
        return float(value)
    return value


def connections(conn: Conn) -> dict[str, Any]:
    """Client connections of the whole server, by state and by database/user/application."""
    by_state = _rows(
        conn,
        "SELECT coalesce(state, 'unknown') AS state, count(*) AS count"
        " FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    groups = _rows(
        conn,
        "SELECT datname AS database, usename AS user, application_name AS application,"
        " coalesce(state, 'unknown') AS state, count(*) AS count,"
        " max(now() - state_change) AS longest_in_state"
        " FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " GROUP BY 1, 2, 3, 4 ORDER BY count DESC, 1, 2, 3, 4 LIMIT 50",
    )
    limit = _rows(conn, "SELECT current_setting('max_connections')::int AS max")[0]["max"]
    total = sum(r["count"] for r in by_state)
    return {
        "total": total,
        "max_connections": limit,
        "usage": round(total / limit, 4) if limit else None,
        "by_state": {r["state"]: r["count"] for r in by_state},
        "groups": groups,
    }


def idle_connections(
    conn: Conn, older_than: float, states: list[str], all_databases: bool
) -> list[dict[str, Any]]:
    """Client connections in one of `states` for more than `older_than` seconds (not ours)."""
    return _rows(
        conn,
        "SELECT pid, backend_start, state_change, datname AS database, usename AS user,"
        " application_name AS application, host(client_addr) AS client, state,"
        " now() - state_change AS idle_for"
        " FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        " AND state = ANY(%s) AND state_change < now() - make_interval(secs => %s)"
        " AND (%s OR datname = current_database())"
        " ORDER BY state_change, pid",
        (states, older_than, all_databases),
    )


def bloat(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """Tables by dead tuples: the share of dead rows and the space they are estimated to hold."""
    return _rows(
        conn,
        "SELECT schemaname AS schema, relname AS table, n_live_tup AS live, n_dead_tup AS dead,"
        " round(n_dead_tup::numeric / nullif(n_live_tup + n_dead_tup, 0), 4) AS dead_ratio,"
        " pg_table_size(relid) AS table_bytes,"
        " (pg_table_size(relid) * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0))::bigint"
        "   AS wasted_bytes_estimate,"
        " greatest(last_vacuum, last_autovacuum) AS last_vacuum,"
        " n_dead_tup > 1000 AND n_dead_tup > 0.2 * (n_live_tup + n_dead_tup) AS vacuum_advised"
        " FROM pg_stat_user_tables WHERE n_dead_tup > 0"
        " ORDER BY n_dead_tup DESC, 1, 2 LIMIT %s",
        (limit,),
    )


def unused_indexes(conn: Conn, limit: int) -> dict[str, Any]:
    """Indexes never scanned since the statistics were reset (constraint indexes excluded)."""
    rows = _rows(
        conn,
        "SELECT s.schemaname AS schema, s.relname AS table, s.indexrelname AS index,"
        " s.idx_scan AS scans, pg_relation_size(s.indexrelid) AS bytes,"
        " pg_get_indexdef(s.indexrelid) AS definition"
        " FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid"
        " WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary"
        " AND NOT i.indisexclusion"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)"
        " ORDER BY bytes DESC, 1, 2, 3 LIMIT %s",
        (limit,),
    )
    reset = _rows(
        conn,
        "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()",
    )
    return {"since": reset[0]["stats_reset"] if reset else None, "indexes": rows}


def statements_available(conn: Conn) -> tuple[bool, str]:
    """Whether pg_stat_statements can be read here, and if not, why."""
    installed = _rows(
        conn, "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"
    )
    preload = _rows(conn, "SELECT current_setting('shared_preload_libraries') AS libs")
    loaded = "pg_stat_statements" in str(preload[0]["libs"])
    if not loaded:
        return False, "pg_stat_statements is not in shared_preload_libraries"
    if not installed:
        return False, "the pg_stat_statements extension is not created in this database"
    return True, ""


def slow_statements(conn: Conn, min_mean_ms: float, limit: int) -> list[dict[str, Any]]:
    """Statements by mean execution time (pg_stat_statements must be available)."""
    version = int(_rows(conn, "SHOW server_version_num")[0]["server_version_num"])
    new = version >= 130000
    mean = sql.Identifier("mean_exec_time" if new else "mean_time")
    total = sql.Identifier("total_exec_time" if new else "total_time")
    query = sql.SQL(
        "SELECT query, calls, round({mean}::numeric, 3) AS mean_ms,"
        " round({total}::numeric, 3) AS total_ms, rows FROM pg_stat_statements"
        " WHERE query NOT LIKE {own} AND {mean} >= %s ORDER BY {mean} DESC LIMIT %s"
    ).format(mean=mean, total=total, own=sql.Literal("%pg_stat_statements%"))
    return _rows(conn, query, (min_mean_ms, limit))


def running_queries(conn: Conn, min_seconds: float, limit: int) -> list[dict[str, Any]]:
    """Queries in this database running for at least `min_seconds` (needs no extension)."""
    return _rows(
        conn,
        "SELECT pid, datname AS database, usename AS user, now() - query_start AS running_for,"
        " wait_event_type AS waiting_on, left(query, 500) AS query"
        " FROM pg_stat_activity"
        " WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        " AND datname = current_database()"
        " AND query_start < now() - make_interval(secs => %s)"
        " ORDER BY query_start LIMIT %s",
        (min_seconds, limit),
    )


def table_sizes(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """User tables by total size (table, indexes and TOAST)."""
    return _rows(
        conn,
        "SELECT n.nspname AS schema, c.relname AS table,"
        " pg_total_relation_size(c.oid) AS total_bytes, pg_table_size(c.oid) AS table_bytes,"
        " pg_indexes_size(c.oid) AS index_bytes, greatest(c.reltuples, 0)::bigint AS rows_estimate"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'm')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'"
        " ORDER BY total_bytes DESC, 1, 2 LIMIT %s",
        (limit,),
    )


def database_size(conn: Conn) -> tuple[str, int, str]:
    """The current database's name, size in bytes and data directory.

    The directory is given only when the server runs on this machine (a loopback or socket
    connection) and we may read the setting; else it is "".
    """
    row = _rows(
        conn,
        "SELECT current_database() AS name, pg_database_size(current_database()) AS bytes",
    )[0]
    directory = ""
    host = conn.info.host
    if not (host.startswith("/") or host in ("localhost", "127.0.0.1", "::1")):
        return str(row["name"]), int(row["bytes"]), ""
    try:
        directory = str(_rows(conn, "SHOW data_directory")[0]["data_directory"])
    except psycopg.Error:  # only superusers and pg_read_all_settings members may see it
        directory = ""
    return str(row["name"]), int(row["bytes"]), directory
