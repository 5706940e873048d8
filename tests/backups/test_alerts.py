"""The default backup rules as the server runs them: the backups worker the runtime builds
writes `backup_age_seconds` and `backup_last_failed` to the store, and the alert evaluator fires
and resolves the rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from opsbook.backups.context import BackupContext
from opsbook.backups.restore import restore_test
from opsbook.backups.run import run_backup
from opsbook.backups.tables import RestoreTest
from opsbook.backups.worker import BackupsWorker
from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.runtime import Runtime, build_workers
from opsbook.storage import Database
from tests.scheduler.alerting import evaluate_alerts


def make_runtime(db: Database, clock: FakeClock, tmp_path: Path, **extra: str) -> Runtime:
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    target = {"name": "app", "type": "sqlite", "path": "app.db", "destination": "b", "rpo": "1h"}
    target.update(extra)
    config = config_from_data({"backups": [target]}, base_dir=tmp_path)
    return Runtime(config, db, clock, "node-a")


def backups_worker(runtime: Runtime) -> BackupsWorker:
    """The backups worker exactly as `opsbook serve` builds it."""
    [worker] = [w for w in build_workers(runtime) if w.name == "backups"]
    assert isinstance(worker, BackupsWorker)
    return worker


def backup_context(runtime: Runtime) -> BackupContext:
    return BackupContext(runtime.config, runtime.db, runtime.clock, runtime.node_id)


def test_a_target_without_a_backup_fires_its_rpo_alert_one_rpo_after_it_was_first_seen(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = make_runtime(db, clock, tmp_path)
    worker = backups_worker(runtime)
    worker.tick()
    clock.advance(minutes=59)
    worker.tick()
    assert evaluate_alerts(runtime) == {}
    clock.advance(minutes=2)
    worker.tick()
    assert evaluate_alerts(runtime) == {"backup_past_rpo_app": "firing"}
    assert run_backup(backup_context(runtime), "app").status == "ok"
    worker.tick()
    assert evaluate_alerts(runtime) == {}


def test_a_backup_that_does_not_restore_fires_the_backup_failed_alert(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = make_runtime(db, clock, tmp_path)
    worker = backups_worker(runtime)
    ctx = backup_context(runtime)
    backup = run_backup(ctx, "app")
    worker.tick()
    assert evaluate_alerts(runtime) == {}
    Path(backup.location or "").write_bytes(b"not the backup any more")
    test = restore_test(ctx, "app")
    assert test.status == "failed" and "checksum mismatch" in test.error
    worker.tick()
    assert evaluate_alerts(runtime) == {"backup_failed_app": "firing"}


def test_a_restore_slower_than_the_rto_fires_the_rto_alert(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = make_runtime(db, clock, tmp_path, rto="10m")
    worker = backups_worker(runtime)
    backup = run_backup(backup_context(runtime), "app")
    with db.write() as session:  # a restore test that took 11 minutes
        session.add(
            RestoreTest(
                backup_id=backup.id,
                target="app",
                status="passed",
                started_at=clock.now(),
                finished_at=clock.now(),
                restore_seconds=660.0,
                rto_seconds=600.0,
                within_rto=False,
                counts={},
                smoke=[],
                scratch="",
                error="",
                actor="test",
            )
        )
    worker.tick()
    assert evaluate_alerts(runtime) == {"backup_restore_past_rto_app": "firing"}
