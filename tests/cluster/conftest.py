"""Fixtures for cluster tests: a migrated PostgreSQL store (nodes share PostgreSQL only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbook.storage import Database
from tests.conftest import _truncate_all


@pytest.fixture
def pg_db(_postgres_url: str) -> Iterator[Database]:
    database = Database(_postgres_url)
    _truncate_all(database)
    try:
        yield database
    finally:
        database.dispose()


from tests.checks.conftest import target  # noqa: E402, F401 - the HTTP target fixture
