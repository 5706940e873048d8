from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from opsbook.config import config_from_data
from opsbook.pg.connect import Target, target
from tests.services import scratch_postgres

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A scratch database the diagnostics look at; dropped afterwards."""
    with scratch_postgres("opsbook_pg") as url:
        yield url


@pytest.fixture
def where(pg_url: str) -> Target:
    return target(config_from_data({}), pg_url, {})


@pytest.fixture
def open_conn(pg_url: str) -> Iterator[Callable[..., Conn]]:
    """Opens client connections to the scratch database (closed at the end if still alive)."""
    opened: list[Conn] = []

    def make(application: str = "opsbook-test", autocommit: bool = True) -> Conn:
        conn = psycopg.connect(pg_url, autocommit=autocommit, application_name=application)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


def is_alive(conn: Conn) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True
