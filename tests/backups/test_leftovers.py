"""What interrupted backups leave: a `.partial` staging file, an unfinished S3 upload. The next
backup of the target and the backups worker at its start remove them, never those of a backup
that is still running. The backups here run in a real `opsbook backup run` process, held up
mid-dump by an exclusive lock on the SQLite database it copies."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbook.backups.context import LEASE_TTL_SECONDS
from opsbook.backups.run import run_backup
from opsbook.backups.tables import Backup
from opsbook.backups.worker import BackupsWorker
from opsbook.clock import FakeClock, SystemClock
from opsbook.config import load_config
from opsbook.errors import ConflictError
from opsbook.runtime import Runtime, build_workers
from opsbook.storage import Database
from tests.backups.conftest import MakeContext, S3Server
from tests.polling import eventually

TARGET = {"name": "app", "type": "sqlite", "path": "app.db", "destination": "backups"}


@pytest.fixture
def config_file(tmp_path: Path, sqlite_db: Database) -> Path:
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.executemany("INSERT INTO notes VALUES (?)", [(f"n{i}",) for i in range(100)])
    conn.close()
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        f"database_url: {sqlite_db.url}\n"
        "backups:\n  - {name: app, type: sqlite, path: app.db, destination: backups}\n"
    )
    return path


class HeldBackup:
    """`opsbook backup run app` in its own process, held up in the middle of its dump."""

    def __init__(self, config_file: Path, db: Database) -> None:
        self.db = db
        self.lock = sqlite3.connect(config_file.parent / "app.db", isolation_level=None)
        self.lock.execute("BEGIN EXCLUSIVE")  # the online backup waits for it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsbook", "backup", "run", "app", "--config", str(config_file)],
            cwd=config_file.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        folder = config_file.parent / "backups" / "app"
        self.staged: Path = eventually(lambda: next(iter(folder.glob(".*.partial")), None))
        self.backup_id = int(self.staged.name.rsplit("-", 1)[1].split(".")[0])

    def row(self) -> Backup:
        return _row(self.db, self.backup_id)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate()
        self.release()

    def release(self) -> None:
        if self.lock.in_transaction:
            self.lock.execute("ROLLBACK")
        self.lock.close()

    def finish(self) -> str:
        self.release()
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err.decode()
        return out.decode()


@pytest.fixture
def held(config_file: Path, sqlite_db: Database) -> Iterator[HeldBackup]:
    backup = HeldBackup(config_file, sqlite_db)
    try:
        yield backup
    finally:
        if backup.proc.poll() is None:
            backup.kill()


def start_worker(config_file: Path, db: Database) -> None:
    """Start the backups worker as `opsbook serve` builds it, and stop it at once."""
    runtime = Runtime(load_config(config_file), db, SystemClock(), "node-b")
    [worker] = [w for w in build_workers(runtime) if w.name == "backups"]
    assert isinstance(worker, BackupsWorker)
    stop = asyncio.Event()
    stop.set()
    asyncio.run(worker.run(stop))


def test_the_next_run_removes_the_staging_file_of_a_killed_backup(
    held: HeldBackup, make_ctx: MakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    assert held.row().status == "running"
    held.kill()
    assert held.staged.exists()
    # the killed process's lease expires; the next run, once it may start, sweeps
    later = FakeClock(datetime.now(UTC) + timedelta(seconds=LEASE_TTL_SECONDS + 10))
    ctx = make_ctx(TARGET, clock=later)
    with caplog.at_level(logging.WARNING):
        backup = run_backup(ctx, "app")
    assert backup.status == "ok"
    assert not held.staged.exists()
    assert [p.name for p in held.staged.parent.iterdir()] == [Path(backup.key or "").name]
    killed = held.row()
    assert killed.status == "failed" and killed.error.startswith("interrupted: the process on")
    assert f"removed {held.staged}, left by backup #{killed.id} of app" in caplog.text


def test_the_worker_removes_the_staging_file_of_a_killed_backup_when_it_starts(
    held: HeldBackup, config_file: Path, sqlite_db: Database
) -> None:
    held.kill()  # its lease is still unexpired, but its process is gone from this host
    start_worker(config_file, sqlite_db)
    assert not held.staged.exists()
    assert held.row().status == "failed"


def test_the_staging_file_of_a_backup_still_running_is_left_alone(
    held: HeldBackup, config_file: Path, sqlite_db: Database, make_ctx: MakeContext
) -> None:
    start_worker(config_file, sqlite_db)
    with pytest.raises(ConflictError, match="already running"):
        run_backup(make_ctx(TARGET), "app")
    assert held.staged.exists() and held.row().status == "running"
    assert "verified" in held.finish()
    finished = held.row()
    assert (finished.status, finished.verified) == ("ok", True)
    assert not held.staged.exists()


def test_the_next_run_aborts_the_unfinished_s3_upload_of_an_interrupted_backup(
    make_ctx: MakeContext, s3_server: S3Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = {**TARGET, "destination": s3_server.destination("s3://backups/opsbook")}
    (tmp_path / "app.db").touch()
    ctx = make_ctx(target)
    with ctx.db.write() as session:  # a backup whose process died on another node
        interrupted = _running_row("elsewhere:4242", ctx.clock.now() - timedelta(minutes=10))
        session.add(interrupted)
    name = f"app-20260105T115000Z-{interrupted.id}.sqlite3"
    client = s3_server.client()
    upload = client.create_multipart_upload(Bucket="backups", Key=f"opsbook/app/{name}")
    client.upload_part(
        Bucket="backups",
        Key=f"opsbook/app/{name}",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"x" * 1024,
    )
    staging = tmp_path / ".opsbook" / "backup-staging"
    staging.mkdir(parents=True)
    (staging / f".{name}.partial").write_bytes(b"half")
    unknown = staging / ".app-20260105T115000Z-999.sqlite3.partial"  # not in this store
    unknown.write_bytes(b"someone else's")

    with caplog.at_level(logging.WARNING):
        backup = run_backup(ctx, "app")
    assert backup.status == "ok", backup.error
    assert client.list_multipart_uploads(Bucket="backups").get("Uploads", []) == []
    assert sorted(p.name for p in staging.iterdir()) == [unknown.name]
    assert f"unfinished upload {upload['UploadId']}" in caplog.text
    assert _row(ctx.db, interrupted.id).status == "failed"


def _running_row(node: str, heartbeat: datetime) -> Backup:
    return Backup(
        target="app",
        type="sqlite",
        status="running",
        started_at=heartbeat,
        heartbeat_at=heartbeat,
        tool_versions={},
        counts={},
        error="",
        verify_error="",
        node_id=node,
        actor="test",
    )


def _row(db: Database, backup_id: int) -> Backup:
    with db.read() as session:
        found = session.get(Backup, backup_id)
    assert found is not None
    return found
