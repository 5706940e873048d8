"""The real services tests talk to: PostgreSQL and Redis on loopback.

Addresses come from OPSBOOK_TEST_PG_URL and OPSBOOK_TEST_REDIS_URL. Without the service a test
is skipped with the reason, except under CI=true, where a missing service fails the test.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_URL = os.environ.get("OPSBOOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("OPSBOOK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require(service: str, url: str) -> None:
    """Skip (or, under CI, fail) when `url`'s host:port does not accept connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 0
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{service} is not reachable at {host}:{port} ({exc.strerror or exc})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI a missing service is a failure")
    pytest.skip(reason)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextmanager
def scratch_postgres(prefix: str = "opsbook_test") -> Iterator[str]:
    """A new, empty PostgreSQL database for the block; dropped afterwards."""
    import psycopg

    require("PostgreSQL", PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(PG_URL, name)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
