"""Finding the database a command or a runbook step means.

A connection is named in `opsbook.yaml` (`connections:`), given as a URL, or described by the
environment the way the seeds' runbooks do: `DATABASE_URL`, or `DB_HOST`, `DB_PORT`, `DB_USER`,
`DB_PASSWORD`, `DB_NAME` (and libpq's `PGHOST`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from opsbook.config import Config
from opsbook.config.model import ConnectionConfig
from opsbook.errors import NotFoundError

DEFAULT_NAME = "default"


def resolve_connection(
    config: Config, name_or_url: str | None = None, env: Mapping[str, str] | None = None
) -> ConnectionConfig:
    """The connection `name_or_url` means; with none given, the one the environment describes.

    Lookup order: a URL as given; a name in `connections:`; with no name, the connection named
    `default`, else `DATABASE_URL`, else `DB_*` / `PG*` variables, else the only configured one.
    """
    env = env or {}
    connections = config.settings.connections
    if name_or_url and "://" in name_or_url:
        return ConnectionConfig(url=name_or_url)
    if name_or_url:
        if name_or_url in connections:
            return connections[name_or_url]
        known = ", ".join(sorted(connections)) or "none configured"
        raise NotFoundError(f"unknown connection {name_or_url!r} (known: {known})")
    if DEFAULT_NAME in connections:
        return connections[DEFAULT_NAME]
    from_env = url_from_env(env)
    if from_env:
        return ConnectionConfig(url=from_env)
    if len(connections) == 1:
        return next(iter(connections.values()))
    raise NotFoundError(
        "no database connection: give --connection NAME or URL, configure `connections:`, "
        "or set DATABASE_URL or DB_HOST/DB_USER/DB_NAME"
    )


def url_from_env(env: Mapping[str, str]) -> str | None:
    """A PostgreSQL URL from DATABASE_URL, DB_* or PG* variables, or None."""
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]

    def pick(*names: str) -> str:
        return next((env[n] for n in names if env.get(n)), "")

    host = pick("DB_HOST", "PGHOST")
    if not host:
        return None
    port = pick("DB_PORT", "PGPORT") or "5432"
    user = pick("DB_USER", "PGUSER") or "postgres"
    password = pick("DB_PASSWORD", "PGPASSWORD")
    name = pick("DB_NAME", "PGDATABASE") or user
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return f"postgresql://{auth}@{host}:{port}/{quote(name, safe='')}"
