"""PostgreSQL backups: `pg_dump -Fc` of one database, `pg_restore` to check and to restore.

The dump runs on a snapshot exported by opsbook's own transaction (`pg_dump --snapshot`), and
the rows of the largest tables are counted in that same snapshot while pg_dump works, so the
counts describe exactly what the dump holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from opsbook import __version__
from opsbook.backups.model import BackupFailure, DumpResult, Progress, RestoreCheck
from opsbook.backups.smoke import run_smoke
from opsbook.backups.tools import (
    Target,
    describe_failure,
    libpq_env,
    run_tool,
    split_url,
    tool_version,
)
from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.config.backups import BackupConfig
from opsbook.connections import resolve_connection
from opsbook.errors import ConflictError

EXTENSION = "dump"
_LARGEST_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
ORDER BY pg_total_relation_size(c.oid) DESC, n.nspname, c.relname
LIMIT %s
"""
_USER_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
"""


def source(config: Config, target: BackupConfig) -> Target:
    assert target.url is not None
    return split_url(resolve_connection(config, target.url).url)


def dump(config: Config, target: BackupConfig, out: Path, progress: Progress) -> DumpResult:
    """Write a custom-format dump of the target database to `out`."""
    db = source(config, target)
    try:
        conn = psycopg.connect(db.dsn())
    except psycopg.Error as exc:
        raise BackupFailure(f"cannot connect to {db.conninfo}: {_first_line(exc)}") from None
    with conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot = _scalar(conn, "SELECT pg_export_snapshot()")
        server = _scalar(conn, "SHOW server_version").split()[0]
        # The row counts run beside pg_dump: one backend, no JIT, so they take one core for
        # a moment instead of competing with the dump on several.
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        conn.execute("SET LOCAL jit = off")
        argv = [
            "pg_dump",
            "--format=custom",
            f"--file={out}",
            f"--snapshot={snapshot}",
            "--no-password",
            f"--dbname={db.conninfo}",
        ]
        counts: dict[str, int] = {}
        with libpq_env(db) as env:
            result = run_tool(
                argv,
                env,
                watch=out,
                progress=_counting(conn, target.count_tables, counts, progress),
            )
        if not counts and target.count_tables:
            counts.update(count_largest(conn, target.count_tables))
        conn.rollback()
    if result.returncode != 0:
        raise BackupFailure(describe_failure("pg_dump", result))
    versions = {"pg_dump": tool_version("pg_dump"), "server": server, "opsbook": __version__}
    return DumpResult(tool_versions=versions, counts=counts)


def _counting(
    conn: psycopg.Connection[Any], limit: int, counts: dict[str, int], progress: Progress
) -> Progress:
    """A progress callback that, on its first call, counts rows while pg_dump goes on."""

    def tick(size: int) -> None:
        if not counts and limit:
            counts.update(count_largest(conn, limit))
        progress(size)

    return tick


def count_largest(conn: psycopg.Connection[Any], limit: int) -> dict[str, int]:
    """Exact row counts of the `limit` largest tables, as {"schema.table": rows}."""
    tables = conn.execute(_LARGEST_TABLES, (limit,)).fetchall()
    return {f"{schema}.{name}": _count(conn, schema, name) for schema, name in tables}


def _count(conn: psycopg.Connection[Any], schema: str, name: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(name)
    )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def verify(path: Path) -> None:
    """`pg_restore --list` must read the whole table of contents."""
    result = run_tool(["pg_restore", "--list", str(path)], {}, capture_stdout=True)
    if result.returncode != 0:
        raise BackupFailure(describe_failure("pg_restore --list", result))
    if not any(line and not line.startswith(";") for line in result.stdout.splitlines()):
        raise BackupFailure("pg_restore --list found no entries in the archive")


def restore_test(
    config: Config,
    target: BackupConfig,
    path: Path,
    expected: dict[str, int],
    *,
    clock: Clock,
    fetch_seconds: float,
) -> RestoreCheck:
    """Restore into a new scratch database, compare row counts, run smoke queries, drop it."""
    server = split_url(resolve_connection(config, target.restore_url or target.url or "").url)
    name = scratch_name(target.name)
    scratch = server.with_dbname(name)
    check = RestoreCheck(restore_seconds=0.0, scratch=name)
    _admin(server, sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        started = clock.monotonic()
        _pg_restore(scratch, path, target.restore_jobs)
        check.restore_seconds = fetch_seconds + clock.monotonic() - started
        with psycopg.connect(scratch.dsn(), autocommit=True) as conn:
            check.compare_counts(expected, _counts_of(conn, expected))
            run_smoke(target.smoke_queries, lambda text: _first_row(conn, text), check)
    except BackupFailure as exc:
        check.restore_seconds = fetch_seconds + clock.monotonic() - started
        check.problems.append(str(exc))
    finally:
        _admin(
            server,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )
    return check


def restore(config: Config, target: BackupConfig, path: Path, to: str) -> str:
    """Restore into the database `to` names, creating it when missing; it must be empty."""
    dest = split_url(resolve_connection(config, to).url)
    maintenance = dest.with_dbname("postgres")
    exists = _scalar_admin(
        maintenance, "SELECT count(*) FROM pg_database WHERE datname = %s", (dest.dbname,)
    )
    if exists == "0":
        _admin(maintenance, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dest.dbname)))
    elif _scalar_admin(dest, _USER_TABLES, ()) != "0":
        raise ConflictError(
            f"database {dest.dbname!r} already has tables; restore into a new or empty database"
        )
    _pg_restore(dest, path, target.restore_jobs)
    return dest.conninfo


def _pg_restore(dest: Target, path: Path, jobs: int) -> None:
    argv = [
        "pg_restore",
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        f"--jobs={jobs}",
        "--no-password",
        f"--dbname={dest.conninfo}",
        str(path),
    ]
    with libpq_env(dest) as env:
        result = run_tool(argv, env)
    if result.returncode != 0:
        raise BackupFailure(describe_failure("pg_restore", result))


def _counts_of(conn: psycopg.Connection[Any], expected: dict[str, int]) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for qualified in expected:
        schema, _, name = qualified.partition(".")
        try:
            found[qualified] = _count(conn, schema, name)
        except psycopg.errors.UndefinedTable:
            found[qualified] = None
    return found


def _first_row(conn: psycopg.Connection[Any], text: str) -> Sequence[Any] | None:
    with conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY")
        return conn.execute(text).fetchone()


def scratch_name(target: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in target.lower())[:30]
    return f"opsbook_restore_{safe}_{uuid.uuid4().hex[:8]}"


def _admin(server: Target, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise BackupFailure(f"{_first_line(exc)} (on {server.conninfo})") from None


def _scalar_admin(server: Target, query: str, params: tuple[Any, ...]) -> str:
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            return _scalar(conn, query, params)
    except psycopg.Error as exc:
        raise BackupFailure(f"{_first_line(exc)} (on {server.conninfo})") from None


def _scalar(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> str:
    row = conn.execute(query, params or None).fetchone()
    return str(row[0]) if row else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
