"""Off-site copies against a real S3-compatible server (moto) on loopback: each verified backup is
copied and read back; a copy that fails leaves the backup good, is recorded, raises the alert
and is retried; retention prunes the copies."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from opsbook.backups.context import BackupContext
from opsbook.backups.prune import prune
from opsbook.backups.run import run_backup
from opsbook.backups.storage import file_digest
from opsbook.backups.tables import Backup
from opsbook.backups.worker import BackupsWorker
from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.runtime import Runtime, build_workers
from opsbook.storage import Database
from tests.backups.conftest import S3_KEYS, MakeContext, S3Server
from tests.scheduler.alerting import evaluate_alerts

KEEP_ONE = {"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}


@pytest.fixture(autouse=True)
def app_db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [(f"n{i}",) for i in range(200)])
    conn.close()
    return path


def app_target(s3: S3Server, **extra: Any) -> dict[str, Any]:
    return {
        "name": "app",
        "type": "sqlite",
        "path": "app.db",
        "destination": "backups",
        "offsite": s3.destination("s3://offsite/opsbook"),
        **extra,
    }


def row(db: Database, backup_id: int) -> Backup:
    with db.read() as session:
        found = session.get(Backup, backup_id)
    assert found is not None
    return found


def test_a_verified_backup_is_copied_off_site_and_read_back(
    make_ctx: MakeContext, s3_server: S3Server
) -> None:
    ctx = make_ctx(app_target(s3_server))
    backup = run_backup(ctx, "app")
    assert (backup.status, backup.verified, backup.offsite_status) == ("ok", True, "ok")
    assert backup.offsite_location == f"s3://offsite/opsbook/{backup.key}"
    assert backup.offsite_verified_at is not None and backup.offsite_attempts == 1
    assert s3_server.keys("offsite") == [f"opsbook/{backup.key}"]
    body = s3_server.client().get_object(Bucket="offsite", Key=f"opsbook/{backup.key}")["Body"]
    data = body.read()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (backup.size_bytes, backup.sha256)
    assert file_digest(Path(backup.location or "")) == (backup.size_bytes, backup.sha256)


def test_an_off_site_copy_can_go_to_a_folder(make_ctx: MakeContext, tmp_path: Path) -> None:
    target = {"name": "app", "type": "sqlite", "path": "app.db", "destination": "backups"}
    ctx = make_ctx({**target, "offsite": str(tmp_path / "elsewhere")})
    backup = run_backup(ctx, "app")
    copy = tmp_path / "elsewhere" / (backup.key or "")
    assert (backup.offsite_status, backup.offsite_location) == ("ok", str(copy))
    assert file_digest(copy) == (backup.size_bytes, backup.sha256)
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # no staging file left


def test_an_unreachable_off_site_store_keeps_the_backup_good_alerts_and_the_next_run_copies_it(
    db: Database,
    clock: FakeClock,
    tmp_path: Path,
    s3_server: S3Server,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = config_from_data({"backups": [app_target(s3_server)]}, base_dir=tmp_path)
    runtime = Runtime(config, db, clock, "node-a")
    [worker] = [w for w in build_workers(runtime) if w.name == "backups"]
    assert isinstance(worker, BackupsWorker)
    ctx = BackupContext(config, db, clock, "node-a")
    s3_server.stop()

    with caplog.at_level(logging.WARNING):
        first = run_backup(ctx, "app")
    assert (first.status, first.verified, first.error) == ("ok", True, "")
    assert Path(first.location or "").is_file()
    assert first.offsite_status == "failed" and first.offsite_attempts == 1
    assert f"cannot upload to s3://offsite/opsbook/{first.key}" in first.offsite_error
    assert f"off-site copy of backup #{first.id} failed" in caplog.text
    assert S3_KEYS["secret_access_key"] not in caplog.text + first.offsite_error
    worker.tick()
    assert evaluate_alerts(runtime) == {"backup_offsite_failed_app": "firing"}

    s3_server.start()
    clock.advance(hours=1)
    second = run_backup(ctx, "app")
    assert second.offsite_status == "ok"
    retried = row(db, first.id)
    assert (retried.offsite_status, retried.offsite_attempts, retried.offsite_error) == (
        "ok",
        2,
        "",
    )
    assert s3_server.keys("offsite") == sorted(f"opsbook/{b.key}" for b in (first, second))
    worker.tick()
    assert evaluate_alerts(runtime) == {}


def test_backup_offsite_copies_what_is_owed_and_backup_list_shows_it(
    cli: Any, tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFSITE_SECRET_KEY", S3_KEYS["secret_access_key"])
    (tmp_path / "opsbook.yaml").write_text(
        "backups:\n"
        "  - name: app\n"
        "    type: sqlite\n"
        "    path: app.db\n"
        "    destination: backups\n"
        "    offsite:\n"
        "      url: s3://offsite/opsbook\n"
        f"      endpoint: {s3_server.endpoint}\n"
        "      region: us-east-1\n"
        f"      access_key_id: {S3_KEYS['access_key_id']}\n"
        "      secret_access_key: ${OFFSITE_SECRET_KEY}\n"
    )
    s3_server.stop()
    made = cli("backup", "run", "app", "--json")
    assert made.exit_code == 0, made.stderr  # the backup itself is good
    assert json.loads(made.stdout)["backup"]["offsite"]["status"] == "failed"

    s3_server.start()
    copied = cli("backup", "offsite", "app", "--json")
    assert copied.exit_code == 0, copied.stdout + copied.stderr
    [listed] = json.loads(cli("backup", "list", "--json").stdout)["backups"]
    offsite = listed["offsite"]
    assert (offsite["status"], offsite["attempts"], offsite["error"]) == ("ok", 2, "")
    assert offsite["location"] == f"s3://offsite/opsbook/app/{Path(listed['location']).name}"
    assert offsite["verified_at"] is not None
    assert cli("backup", "offsite", "app").stdout.strip() == "app: no off-site copy is owed"


def test_prune_deletes_the_off_site_copies_the_policy_does_not_keep(
    make_ctx: MakeContext, s3_server: S3Server, clock: FakeClock
) -> None:
    keep_two = {**KEEP_ONE, "keep_last": 2}
    ctx = make_ctx(app_target(s3_server, retention=keep_two), clock=clock)
    made = []
    for _ in range(3):
        made.append(run_backup(ctx, "app"))
        clock.advance(hours=1)
    assert s3_server.keys("offsite") == sorted(f"opsbook/{b.key}" for b in made[1:])
    oldest = row(ctx.db, made[0].id)
    assert (oldest.offsite_status, oldest.pruned_at is not None) == ("pruned", True)
    decisions = [(d.backup_id, d.copy, d.keep) for d in prune(ctx, "app", dry_run=True)]
    assert decisions == [
        (made[2].id, "destination", True),
        (made[1].id, "destination", True),
        (made[2].id, "offsite", True),
        (made[1].id, "offsite", True),
    ]


def test_the_newest_verified_off_site_copy_stays_while_later_copies_fail(
    make_ctx: MakeContext, s3_server: S3Server, clock: FakeClock
) -> None:
    ctx = make_ctx(app_target(s3_server, retention=KEEP_ONE), clock=clock)
    first = run_backup(ctx, "app")
    s3_server.stop()
    clock.advance(hours=1)
    second = run_backup(ctx, "app")
    assert second.offsite_status == "failed"
    kept = row(ctx.db, first.id)  # its local file went with the policy, not its only copy
    assert (kept.pruned_at is not None, kept.offsite_status) == (True, "ok")

    s3_server.start()
    assert s3_server.keys("offsite") == [f"opsbook/{first.key}"]
    clock.advance(hours=1)
    third = run_backup(ctx, "app")
    assert (third.offsite_status, row(ctx.db, second.id).offsite_status) == ("ok", "pruned")
    assert row(ctx.db, first.id).offsite_status == "pruned"
    assert s3_server.keys("offsite") == [f"opsbook/{third.key}"]
