from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opsbook.backups.context import BackupContext
from opsbook.clock import Clock, SystemClock
from opsbook.config import config_from_data
from opsbook.storage import Database
from tests.services import scratch_postgres

MakeContext = Callable[..., BackupContext]


@pytest.fixture
def source_url() -> Iterator[str]:
    """A PostgreSQL database with two tables of data: users (300 rows), orders (2000 rows)."""
    with scratch_postgres("opsbook_backup_src") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
            conn.execute("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 300) g")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, user_id int, note text)")
            conn.execute(
                "INSERT INTO orders SELECT g, g % 300 + 1, md5(g::text) "
                "FROM generate_series(1, 2000) g"
            )
        yield url


@pytest.fixture
def make_ctx(sqlite_db: Database, tmp_path: Path) -> MakeContext:
    """A backup context over a fresh store for the given `backups:` targets."""

    def make(*targets: dict[str, Any], clock: Clock | None = None) -> BackupContext:
        config = config_from_data({"backups": list(targets)}, base_dir=tmp_path)
        return BackupContext(config, sqlite_db, clock or SystemClock(), "test-node")

    return make
