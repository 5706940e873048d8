"""Verification reads a backup back with its own tool, beyond the checksum: a file damaged
before its checksum was taken (so the checksum matches) still fails."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from opsbook.backups.context import BackupContext
from opsbook.backups.run import run_backup
from opsbook.backups.storage import file_digest
from opsbook.backups.tables import Backup
from opsbook.backups.verify import verify_backup
from tests.backups.conftest import MakeContext


def damage_and_record(ctx: BackupContext, backup: Backup, offset: int) -> None:
    """Overwrite 512 bytes at `offset` and record the damaged file's own checksum and size."""
    path = Path(backup.location or "")
    data = bytearray(path.read_bytes())
    data[offset : offset + 512] = b"\xa5" * 512
    path.write_bytes(bytes(data))
    size, digest = file_digest(path)
    with ctx.db.write() as session:
        row = session.get(Backup, backup.id)
        assert row is not None
        row.size_bytes, row.sha256 = size, digest


def test_a_damaged_sqlite_backup_fails_its_integrity_check(
    make_ctx: MakeContext, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [("x" * 200,)] * 2000)
    conn.close()
    ctx = make_ctx({"name": "app", "type": "sqlite", "path": "app.db", "destination": "b"})
    backup = run_backup(ctx, "app")
    assert backup.verified is True
    damage_and_record(ctx, backup, offset=4096 * 3 + 100)  # inside a page of the table
    after = verify_backup(ctx, str(backup.id))
    assert (after.verified, after.status) == (False, "failed")
    assert "checksum" not in after.verify_error
    assert after.verify_error.startswith("integrity check failed"), after.verify_error


def test_a_damaged_files_archive_fails_when_read_back(
    make_ctx: MakeContext, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "data.bin").write_bytes(bytes(range(256)) * 400)
    ctx = make_ctx({"name": "tree", "type": "files", "path": "tree", "destination": "b"})
    backup = run_backup(ctx, "tree")
    assert backup.verified is True
    damage_and_record(ctx, backup, offset=(backup.size_bytes or 0) // 2)
    after = verify_backup(ctx, str(backup.id))
    assert (after.verified, after.status) == (False, "failed")
    assert after.verify_error.startswith("archive is damaged")
