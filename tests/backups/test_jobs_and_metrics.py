from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from opsbook.backups import service as backups
from opsbook.backups.metrics import backup_samples
from opsbook.backups.rules import default_rules
from opsbook.backups.run import run_backup
from opsbook.clock import FakeClock
from opsbook.config import load_config
from opsbook.runtime import Runtime, action_registry
from opsbook.scheduler import service
from opsbook.scheduler.worker import SchedulerWorker
from opsbook.storage import Database
from tests.backups.conftest import MakeContext

CONFIG = """\
database_url: sqlite:///{store}
backups:
  - name: app
    type: sqlite
    path: app.db
    destination: backups
    rpo: 1h
schedules:
  - name: backup-app
    cron: "0 * * * *"
    action: backup app
"""


def make_app_db(folder: Path) -> None:
    with sqlite3.connect(folder / "app.db") as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()


def test_a_scheduled_backup_action_runs_in_its_own_process(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock
) -> None:
    make_app_db(tmp_path)
    store = sqlite_db.url.removeprefix("sqlite:///")
    (tmp_path / "opsbook.yaml").write_text(CONFIG.format(store=store))
    config = load_config(tmp_path / "opsbook.yaml", env={})
    worker = SchedulerWorker(Runtime(config, sqlite_db, clock, "node"))

    async def scenario() -> None:
        await worker.tick()
        clock.advance(hours=1)
        await worker.tick()
        await worker.wait_idle()

    asyncio.run(scenario())
    with sqlite_db.read() as session:
        [run] = service.history(session, "backup-app")
    assert run.status == "succeeded", run.output + run.note
    assert "backup #1 of app: ok" in run.output and "verified" in run.output


def test_backup_age_counts_from_first_seen_until_the_first_backup_and_from_it_after(
    tmp_path: Path, make_ctx: MakeContext, clock: FakeClock
) -> None:
    make_app_db(tmp_path)
    ctx = make_ctx(
        {"name": "app", "type": "sqlite", "path": "app.db", "destination": "b", "rpo": "1h"},
        clock=clock,
    )
    with ctx.db.write() as session:
        backups.note_targets(session, ["app"], clock.now())
    clock.advance(minutes=30)
    with ctx.db.read() as session:
        [age, failed, rpo] = backup_samples(session, ctx.config, clock.now())
    assert (age.name, age.value, failed.value, rpo.value) == (
        "backup_age_seconds",
        1800.0,
        0.0,
        3600.0,
    )
    run_backup(ctx, "app")
    clock.advance(timedelta(minutes=90).total_seconds())
    with ctx.db.read() as session:
        age = backup_samples(session, ctx.config, clock.now())[0]
    assert age.value == 5400.0
    [past_rpo, _failed] = default_rules(ctx.config)
    assert past_rpo["expr"] == 'backup_age_seconds{target="app"} > 3600'


def test_backup_actions_are_registered() -> None:
    names = action_registry().names()
    assert {
        "backup",
        "backup verify",
        "backup restore-test",
        "backup prune",
        "backup restore",
    } <= set(names)
