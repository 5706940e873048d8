from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opsbook.backups.prune import prune
from opsbook.backups.restore import restore_backup, restore_test
from opsbook.backups.run import run_backup
from opsbook.backups.verify import verify_backup
from tests.backups.conftest import MakeContext, S3Server


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [(f"n{i}",) for i in range(500)])
        conn.execute("CREATE TABLE tags (name TEXT)")
        conn.execute("INSERT INTO tags VALUES ('a'), ('b')")
    conn.close()
    return path


def test_a_sqlite_backup_verifies_restore_tests_and_restores(
    app_db: Path, make_ctx: MakeContext, tmp_path: Path
) -> None:
    ctx = make_ctx(
        {
            "name": "app",
            "type": "sqlite",
            "path": str(app_db),
            "destination": "backups",
            "smoke_queries": ["SELECT count(*) FROM tags"],
        }
    )
    backup = run_backup(ctx, "app")
    assert (backup.status, backup.verified) == ("ok", True)
    assert backup.counts == {"notes": 500, "tags": 2}
    test = restore_test(ctx, "app")
    assert test.status == "passed" and test.counts["notes"] == [500, 500]
    restored = restore_backup(ctx, "app", str(tmp_path / "restored.db"))
    with sqlite3.connect(restored) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (500,)
    conn.close()


def test_a_files_backup_leaves_out_excluded_paths_and_restores(
    make_ctx: MakeContext, tmp_path: Path
) -> None:
    tree = tmp_path / "uploads"
    (tree / "cache").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha")
    (tree / "b.tmp").write_text("scratch")
    (tree / "cache" / "c.bin").write_bytes(b"x" * 100)
    ctx = make_ctx(
        {
            "name": "up",
            "type": "files",
            "path": "uploads",
            "destination": "backups",
            "exclude": ["*.tmp", "cache/*"],
        }
    )
    backup = run_backup(ctx, "up")
    assert backup.status == "ok" and backup.counts == {"files": 1, "bytes": 5}
    assert restore_test(ctx, "up").status == "passed"
    restore_backup(ctx, "up", str(tmp_path / "back"))
    assert (tmp_path / "back" / "uploads" / "a.txt").read_text() == "alpha"
    assert not (tmp_path / "back" / "uploads" / "b.tmp").exists()


def test_backups_go_to_s3_compatible_storage_and_come_back(
    app_db: Path, make_ctx: MakeContext, s3_server: S3Server, tmp_path: Path
) -> None:
    destination = s3_server.destination("s3://backups/opsbook")
    target = {
        "name": "app",
        "type": "sqlite",
        "path": str(app_db),
        "destination": destination,
        "retention": {"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0},
    }
    ctx = make_ctx(target)
    first = run_backup(ctx, "app")
    assert first.status == "ok" and first.verified is True, first.error
    assert (first.location or "").startswith("s3://backups/opsbook/app/app-")
    assert restore_test(ctx, str(first.id)).status == "passed"
    second = run_backup(ctx, "app")  # retention keeps one: the first goes
    assert s3_server.keys("backups") == [f"opsbook/{second.key}"]
    assert not list((tmp_path / ".opsbook" / "backup-staging").iterdir())


def test_a_failed_backup_never_pushes_a_good_one_out(
    app_db: Path, make_ctx: MakeContext, tmp_path: Path
) -> None:
    retention = {"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}
    target = {
        "name": "app",
        "type": "sqlite",
        "path": str(app_db),
        "destination": "backups",
        "retention": retention,
    }
    ctx = make_ctx(target)
    good = run_backup(ctx, "app")
    app_db.rename(tmp_path / "moved.db")
    failed = run_backup(ctx, "app")
    assert failed.status == "failed" and "does not exist" in failed.error
    decisions = prune(ctx, "app", dry_run=True)
    assert [(d.backup_id, d.keep) for d in decisions] == [(failed.id, False), (good.id, True)]
    assert verify_backup(ctx, "app").id == good.id
