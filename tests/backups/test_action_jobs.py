"""Scheduled jobs that run built-in actions: a restore test and a maintenance action, each in a
process of its own (`python -m opsbook.scheduler.action_child`), against the real services."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from opsbook.backups.context import BackupContext
from opsbook.backups.run import run_backup
from opsbook.clock import FakeClock
from opsbook.config import load_config
from opsbook.runtime import Runtime
from opsbook.scheduler import service
from opsbook.scheduler.tables import JobRun
from opsbook.scheduler.worker import SchedulerWorker
from opsbook.storage import Database

CONFIG = """\
database_url: sqlite:///{store}
connections:
  source: {source}
backups:
  - name: app
    type: sqlite
    path: app.db
    destination: backups
    smoke_queries: ["SELECT count(*) FROM notes"]
schedules:
  - name: job
    cron: "0 * * * *"
    action: {action}
"""


def configure(tmp_path: Path, db: Database, action: str, source: str = "sqlite:///x") -> Runtime:
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.executemany("INSERT INTO notes VALUES (?)", [("a",), ("b",)])
    conn.close()
    store = db.url.removeprefix("sqlite:///")
    text = CONFIG.format(store=store, action=action, source=source)
    (tmp_path / "opsbook.yaml").write_text(text)
    return Runtime(load_config(tmp_path / "opsbook.yaml", env={}), db, FakeClock(), "node-a")


def fire_once(runtime: Runtime) -> JobRun:
    worker = SchedulerWorker(runtime)
    clock = runtime.clock
    assert isinstance(clock, FakeClock)

    async def scenario() -> None:
        await worker.tick()
        clock.advance(hours=1)
        await worker.tick()
        await worker.wait_idle()

    asyncio.run(scenario())
    with runtime.db.read() as session:
        [run] = service.history(session, "job")
        return run


def test_a_restore_test_job_proves_the_newest_backup(tmp_path: Path, sqlite_db: Database) -> None:
    runtime = configure(tmp_path, sqlite_db, "backup restore-test app")
    ctx = BackupContext(runtime.config, sqlite_db, runtime.clock, "node-a")
    backup = run_backup(ctx, "app")
    run = fire_once(runtime)
    assert run.status == "succeeded", run.output + run.note
    assert f"restore test #1 of backup #{backup.id} passed" in run.output


def test_a_restore_test_job_fails_when_the_backup_does_not_restore(
    tmp_path: Path, sqlite_db: Database
) -> None:
    runtime = configure(tmp_path, sqlite_db, "backup restore-test app")
    ctx = BackupContext(runtime.config, sqlite_db, runtime.clock, "node-a")
    backup = run_backup(ctx, "app")
    Path(backup.location or "").write_bytes(b"damaged")
    run = fire_once(runtime)
    assert (run.status, run.exit_code) == ("failed", 1)
    assert "failed" in run.output and "checksum mismatch" in run.output


@pytest.mark.postgres
def test_a_maintenance_action_job_vacuums_a_table(
    tmp_path: Path, sqlite_db: Database, source_url: str
) -> None:
    runtime = configure(tmp_path, sqlite_db, "pg vacuum --analyze users -C source", source_url)
    run = fire_once(runtime)
    assert run.status == "succeeded", run.output + run.note
    assert run.output.startswith('VACUUM (ANALYZE) "public"."users" finished')
