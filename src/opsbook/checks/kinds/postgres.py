"""`postgres`: connect and `SELECT 1`, then the figures that predict trouble.

Connections by state and their share of `max_connections`, the longest running query and the
oldest idle-in-transaction session, dead tuples of the largest tables, the database's size, and
replication lag on a replica.
"""

from __future__ import annotations

import math
import os
from typing import Any

import psycopg

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import PostgresCheck
from opsbook.connections import resolve_connection
from opsbook.units import format_duration

Connection = psycopg.AsyncConnection[Any]

STATES = {
    "active": "active",
    "idle": "idle",
    "idle in transaction": "idle_in_transaction",
    "idle in transaction (aborted)": "idle_in_transaction_aborted",
    "fastpath function call": "fastpath_function_call",
    "disabled": "disabled",
}

_CONNECTIONS = """
SELECT coalesce(datname, ''), coalesce(state, ''), count(*) FROM pg_stat_activity
WHERE backend_type = 'client backend' GROUP BY 1, 2
"""
_AGES = """
SELECT
  coalesce(max(extract(epoch FROM now() - query_start))
           FILTER (WHERE state = 'active' AND pid <> pg_backend_pid()), 0),
  coalesce(max(extract(epoch FROM now() - state_change))
           FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')), 0)
FROM pg_stat_activity WHERE backend_type = 'client backend'
"""
_TABLES = """
SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables
ORDER BY pg_total_relation_size(relid) DESC LIMIT %s
"""
_REPLICA = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery()
            THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
"""


def connection_url(ctx: ProbeContext, spec: PostgresCheck) -> str:
    url = resolve_connection(ctx.config, spec.connection, dict(os.environ)).url
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


async def probe(spec: PostgresCheck, ctx: ProbeContext, obs: Observation) -> None:
    url = connection_url(ctx, spec)
    connect_timeout = max(1, math.ceil(spec.timeout))
    async with await psycopg.AsyncConnection.connect(
        url, connect_timeout=connect_timeout, autocommit=True, application_name="opsbook-check"
    ) as conn:
        await conn.execute("SELECT 1")
        await _connections(conn, spec, obs)
        await _ages(conn, spec, obs)
        await _tables(conn, spec, obs)
        await _replica(conn, spec, obs)


async def _rows(conn: Connection, sql: str, *args: Any) -> list[Any]:
    cursor = await conn.execute(sql, args or None)
    return await cursor.fetchall()


async def _connections(conn: Connection, spec: PostgresCheck, obs: Observation) -> None:
    own = conn.info.dbname
    counts = {(own, state): 0 for state in STATES.values()}
    for database, state, count in await _rows(conn, _CONNECTIONS):
        key = STATES.get(state)
        if key is not None:
            counts[(database, key)] = counts.get((database, key), 0) + count
    for (database, state), count in sorted(counts.items()):
        obs.add("pg_connections", count, state=state, database=database)
    [(limit,)] = await _rows(conn, "SELECT current_setting('max_connections')::int")
    total = sum(counts.values())
    used = total / limit
    obs.add("pg_connections_max", limit)
    obs.add("pg_connections_used_ratio", used)
    if used > spec.max_connections_used:
        obs.warn(f"{total} of {limit} connections in use ({used:.0%})")


async def _ages(conn: Connection, spec: PostgresCheck, obs: Observation) -> None:
    [(longest, idle_tx)] = await _rows(conn, _AGES)
    obs.add("pg_longest_query_seconds", float(longest))
    obs.add("pg_oldest_idle_in_transaction_seconds", float(idle_tx))
    limit = spec.max_idle_in_transaction
    if limit is not None and float(idle_tx) > limit:
        obs.warn(f"a session has been idle in transaction for {format_duration(float(idle_tx))}")


async def _tables(conn: Connection, spec: PostgresCheck, obs: Observation) -> None:
    [(database, size)] = await _rows(
        conn, "SELECT current_database(), pg_database_size(current_database())"
    )
    obs.add("pg_database_size_bytes", size, database=database)
    if spec.tables:
        for table, live, dead in await _rows(conn, _TABLES, spec.tables):
            total = live + dead
            obs.add("pg_dead_tuple_ratio", dead / total if total else 0.0, table=table)


async def _replica(conn: Connection, spec: PostgresCheck, obs: Observation) -> None:
    [(replica, lag)] = await _rows(conn, _REPLICA)
    obs.add("pg_replica", 1 if replica else 0)
    if not replica:
        return
    lag_seconds = float(lag) if lag is not None else 0.0
    obs.add("pg_replication_lag_seconds", lag_seconds)
    if spec.max_replication_lag is not None and lag_seconds > spec.max_replication_lag:
        obs.warn(f"replica is {format_duration(lag_seconds)} behind")
