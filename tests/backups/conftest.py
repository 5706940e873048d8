from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest
from moto.server import ThreadedMotoServer

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


S3_KEYS = {"access_key_id": "test", "secret_access_key": "test-secret-9f3a"}


class S3Server:
    """A real S3-compatible server (moto) on loopback that can be stopped and started again
    on the same port, keeping its buckets: a store that goes away and comes back."""

    def __init__(self) -> None:
        self.port = 0
        self.server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def destination(self, url: str) -> dict[str, str]:
        """A `destination:` / `offsite:` mapping for `url` on this server."""
        return {"url": url, "endpoint": self.endpoint, "region": "us-east-1", **S3_KEYS}

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEYS["access_key_id"],
            aws_secret_access_key=S3_KEYS["secret_access_key"],
        )

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """A moto server on loopback with the buckets `backups` and `offsite`."""
    server = S3Server()
    server.start()
    httpx.post(f"{server.endpoint}/moto-api/reset").raise_for_status()  # state is per process
    for bucket in ("backups", "offsite"):
        server.client().create_bucket(Bucket=bucket)
    try:
        yield server
    finally:
        server.stop()
