"""Connections to the PostgreSQL a maintenance command works on, and safe relation names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from opsbook.config import Config
from opsbook.config.model import ConnectionConfig
from opsbook.connections import resolve_connection
from opsbook.errors import ConflictError, NotFoundError, UnavailableError, UsageError

APPLICATION_NAME = "opsbook"


@dataclass(frozen=True)
class Target:
    """The database a command means: its settings and a name fit for output (no password)."""

    connection: ConnectionConfig
    label: str


def target(config: Config, name_or_url: str | None, env: Mapping[str, str]) -> Target:
    connection = resolve_connection(config, name_or_url, env)
    label = name_or_url if name_or_url and "://" not in name_or_url else ""
    return Target(connection, label or config.redactor.redact(_display(connection.url)))


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used for a label
        return url.rsplit("@", maxsplit=1)[-1]


@contextmanager
def connect(
    where: Target, *, timeout: float | None = None, writes: bool = False
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection (VACUUM and REINDEX CONCURRENTLY cannot run in a transaction).

    `timeout` seconds overrides the connection's statement_timeout (0 means none). A command
    that `writes` refuses a connection configured read-only.
    """
    if writes and where.connection.read_only:
        raise ConflictError(f"connection {where.label} is read-only; this command changes it")
    seconds = where.connection.statement_timeout if timeout is None else timeout
    url = where.connection.url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            application_name=APPLICATION_NAME,
            options=f"-c statement_timeout={int(seconds * 1000)}",
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnavailableError(f"cannot connect to {where.label}: {message}") from None
    with conn:
        if where.connection.read_only:
            conn.execute("SET default_transaction_read_only = on")
        yield conn


def relation(conn: psycopg.Connection[tuple[object, ...]], name: str) -> sql.Composed:
    """The table `name` (`songs`, `public.songs`, `"My Table"`) as a safely quoted identifier.

    PostgreSQL itself reads the name (`to_regclass`), so quoting rules and the search path are
    its own; an unknown table is a NotFoundError.
    """
    try:
        row = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            (name,),
        ).fetchone()
    except psycopg.errors.InvalidName:
        raise UsageError(f"{name!r} is not a table name (write table or schema.table)") from None
    if row is None:
        raise NotFoundError(f"no table {name!r} in this database")
    schema, table = str(row[0]), str(row[1])
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def current_database(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])
