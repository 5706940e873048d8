from __future__ import annotations

import threading
from pathlib import Path

import psutil
import psycopg
import pytest

from opsbook.backups import postgres, service
from opsbook.backups.model import BackupFailure
from opsbook.backups.restore import restore_backup, restore_test
from opsbook.backups.run import run_backup
from opsbook.backups.verify import verify_backup
from tests.backups.conftest import MakeContext
from tests.services import PG_URL, scratch_postgres, with_database

pytestmark = pytest.mark.postgres


def target(url: str, tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "name": "main",
        "type": "postgres",
        "url": url,
        "destination": str(tmp_path / "backups"),
        **extra,
    }


def wait_for_child(name: str, timeout: float = 20.0) -> psutil.Process:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process().children(recursive=True):
            if child.name() == name:
                return child
        time.sleep(0.02)
    raise AssertionError(f"{name} did not start")


def _environ_once_set(process: psutil.Process, timeout: float = 10.0) -> dict[str, str]:
    """The process's environment; /proc can show it empty for a moment around its exec."""
    import time

    deadline = time.monotonic() + timeout
    while not (environ := process.environ()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return environ


def test_a_backup_verifies_and_restore_tests_with_matching_row_counts(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    smoke = ["SELECT count(*) FROM users", "SELECT count(*) > 1000 FROM orders"]
    ctx = make_ctx(target(source_url, tmp_path, smoke_queries=smoke, rto="1h"))
    backup = run_backup(ctx, "main")
    assert (backup.status, backup.verified) == ("ok", True)
    assert backup.counts == {"public.orders": 2000, "public.users": 300}
    assert Path(backup.location or "").is_file() and len(backup.sha256 or "") == 64
    assert backup.tool_versions["pg_dump"][0].isdigit()

    test = restore_test(ctx, str(backup.id))
    assert test.status == "passed", test.error
    assert test.counts == {"public.orders": [2000, 2000], "public.users": [300, 300]}
    assert [s["ok"] for s in test.smoke] == [True, True]
    assert test.restore_seconds and test.restore_seconds > 0 and test.within_rto is True
    with psycopg.connect(PG_URL) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (test.scratch,)
        ).fetchone()
    assert left == (0,)


def test_a_failed_smoke_query_fails_the_restore_test_and_the_backup(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    ctx = make_ctx(target(source_url, tmp_path, smoke_queries=["SELECT count(*) FROM nope"]))
    backup = run_backup(ctx, "main")
    test = restore_test(ctx, "main")
    assert test.status == "failed" and "nope" in test.error
    with ctx.db.read() as session:
        after = service.find(session, ctx.config, str(backup.id))
    assert after.status == "failed" and f"restore test #{test.id} failed" in after.error


def test_a_backup_restores_to_a_new_database(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    ctx = make_ctx(target(source_url, tmp_path))
    run_backup(ctx, "main")
    with scratch_postgres("opsbook_restore_to") as scratch:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{scratch.rsplit("/", 1)[1]}"')
        restore_backup(ctx, "main", scratch)
        with psycopg.connect(scratch) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)


def test_restoring_into_a_database_with_tables_is_refused(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    from opsbook.errors import ConflictError

    ctx = make_ctx(target(source_url, tmp_path))
    run_backup(ctx, "main")
    with pytest.raises(ConflictError, match="already has tables"):
        restore_backup(ctx, "main", source_url)


def test_a_corrupted_file_fails_verification(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    ctx = make_ctx(target(source_url, tmp_path))
    backup = run_backup(ctx, "main")
    path = Path(backup.location or "")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    after = verify_backup(ctx, str(backup.id))
    assert (after.verified, after.status) == (False, "failed")
    assert "checksum mismatch" in after.verify_error


def test_pg_restore_rejects_a_file_that_is_not_a_dump(tmp_path: Path) -> None:
    garbage = tmp_path / "x.dump"
    garbage.write_bytes(b"PGDMP" + b"\x00" * 100)
    with pytest.raises(BackupFailure, match="pg_restore --list failed"):
        postgres.verify(garbage)


def _blocked_backup(source_url: str, ctx_target: MakeContext, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A backup whose pg_dump waits on a lock the test holds; returns (ctx, lock conn, thread)."""
    ctx = ctx_target
    lock = psycopg.connect(source_url)
    lock.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(run_backup(ctx, "main")))
    thread.start()
    return lock, thread, results


def test_a_killed_pg_dump_leaves_the_previous_backup_and_records_the_failure(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    ctx = make_ctx(target(source_url, tmp_path, count_tables=1))
    good = run_backup(ctx, "main")
    before = Path(good.location or "").read_bytes()
    lock, thread, results = _blocked_backup(source_url, ctx, tmp_path)
    try:
        wait_for_child("pg_dump").kill()
    finally:
        lock.close()  # the row counts wait for the lock too
        thread.join(30)
    [failed] = results
    assert failed.status == "failed" and "pg_dump was killed by SIGKILL" in failed.error  # type: ignore[attr-defined]
    assert Path(good.location or "").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "backups" / "main").iterdir()) == [
        Path(good.location or "").name
    ]
    with ctx.db.read() as session:
        assert service.newest_good(session, "main").id == good.id  # type: ignore[union-attr]


def test_the_database_password_never_reaches_a_command_line(
    source_url: str, make_ctx: MakeContext, tmp_path: Path
) -> None:
    secret = "pw-Sup3r-s3cret"
    with_password = source_url.replace("postgres@", f"postgres:{secret}@")
    ctx = make_ctx(target(with_password, tmp_path, count_tables=1))
    lock, thread, results = _blocked_backup(source_url, ctx, tmp_path)
    try:
        dump = wait_for_child("pg_dump")
        environ = _environ_once_set(dump)
        cmdlines = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdlines.append(" ".join(proc.info["cmdline"] or []))
    finally:
        lock.close()
        thread.join(30)
    assert not [line for line in cmdlines if secret in line]
    assert "PGPASSFILE" in environ and secret not in " ".join(environ.values())
    assert not Path(environ["PGPASSFILE"]).exists()  # removed once pg_dump ended
    assert results[0].status == "ok"  # type: ignore[attr-defined]


def test_an_unreachable_database_is_a_recorded_failure(
    make_ctx: MakeContext, tmp_path: Path
) -> None:
    ctx = make_ctx(target(with_database(PG_URL, "opsbook_no_such_db"), tmp_path))
    backup = run_backup(ctx, "main")
    assert backup.status == "failed" and "opsbook_no_such_db" in backup.error
