"""Verifying a stored backup: its checksum, then reading it back with its own tool."""

from __future__ import annotations

from pathlib import Path

from opsbook.backups import files, postgres, service, sqlite
from opsbook.backups.context import BackupContext, fetched, load, require_usable
from opsbook.backups.model import BackupStatus
from opsbook.backups.storage import file_digest
from opsbook.backups.tables import Backup
from opsbook.config.backups import BackupConfig
from opsbook.errors import OpsbookError


def verify_backup(ctx: BackupContext, ref: str) -> Backup:
    """Check a backup's checksum and read it back with its tool; a bad one becomes failed."""
    with ctx.db.read() as session:
        backup = service.find(session, ctx.config, ref)
    require_usable(backup, "verify")
    return verify_stored(ctx, service.target_config(ctx.config, backup.target), backup.id)


def verify_stored(ctx: BackupContext, target: BackupConfig, backup_id: int) -> Backup:
    backup = load(ctx, backup_id)
    problem = ""
    try:
        with fetched(ctx, target, backup) as path:
            size, digest = file_digest(path)
            if digest != backup.sha256 or size != backup.size_bytes:
                problem = (
                    f"checksum mismatch: recorded {backup.sha256} ({backup.size_bytes} bytes), "
                    f"the file has {digest} ({size} bytes)"
                )
            else:
                _read_back(target, path)
    except OpsbookError as exc:
        problem = str(exc)
    return _record_verify(ctx, backup_id, problem)


def _read_back(target: BackupConfig, path: Path) -> None:
    if target.type == "postgres":
        postgres.verify(path)
    elif target.type == "sqlite":
        sqlite.verify(path)
    else:
        files.verify(path)


def _record_verify(ctx: BackupContext, backup_id: int, problem: str) -> Backup:
    with ctx.db.write() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None
        backup.verified = not problem
        backup.verified_at = ctx.clock.now()
        backup.verify_error = ctx.redactor.redact(problem)
        if problem:
            backup.status = BackupStatus.FAILED.value
            backup.error = f"verification failed: {backup.verify_error}"
        verdict = f"failed: {backup.verify_error}" if problem else "passed"
        ctx.record(
            session,
            "backup.verify",
            backup.target,
            f"verification of backup #{backup_id} {verdict}",
            backup_id=backup_id,
            ok=not problem,
        )
        return backup
