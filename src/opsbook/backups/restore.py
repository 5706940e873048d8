"""Proving a backup by restoring it into scratch, and restoring it for real."""

from __future__ import annotations

import shutil

from opsbook.backups import files, postgres, service, sqlite
from opsbook.backups.context import BackupContext, fetched, require_usable
from opsbook.backups.model import BackupFailure, BackupStatus, RestoreCheck
from opsbook.backups.storage import file_digest, scratch_dir
from opsbook.backups.tables import Backup, RestoreTest
from opsbook.config.backups import BackupConfig
from opsbook.errors import OpsbookError


def restore_test(ctx: BackupContext, ref: str) -> RestoreTest:
    """Restore a backup into scratch, check it, and record the time against the RTO. A backup
    that does not restore becomes a failed backup."""
    with ctx.db.read() as session:
        backup = service.find(session, ctx.config, ref)
    require_usable(backup, "restore-test")
    target = service.target_config(ctx.config, backup.target)
    test_id = _begin_restore_test(ctx, backup, target)
    check = _restore_check(ctx, target, backup)
    return _finish_restore_test(ctx, test_id, check, target)


def _begin_restore_test(ctx: BackupContext, backup: Backup, target: BackupConfig) -> int:
    with ctx.db.write() as session:
        test = RestoreTest(
            backup_id=backup.id,
            target=backup.target,
            status="running",
            started_at=ctx.clock.now(),
            rto_seconds=target.rto,
            counts={},
            smoke=[],
            scratch="",
            error="",
            actor=ctx.actor,
        )
        session.add(test)
        session.flush()
        return test.id


def _restore_check(ctx: BackupContext, target: BackupConfig, backup: Backup) -> RestoreCheck:
    began = ctx.clock.monotonic()
    scratch = scratch_dir(ctx.config)
    try:
        with fetched(ctx, target, backup) as path:
            fetch_seconds = ctx.clock.monotonic() - began
            size, digest = file_digest(path)
            if digest != backup.sha256:
                raise BackupFailure(f"checksum mismatch: the file has {digest}, {size} bytes")
            counts = {k: int(v) for k, v in backup.counts.items()}
            if target.type == "postgres":
                return postgres.restore_test(
                    ctx.config, target, path, counts, clock=ctx.clock, fetch_seconds=fetch_seconds
                )
            if target.type == "sqlite":
                return sqlite.restore_test(
                    ctx.config,
                    target,
                    path,
                    counts,
                    clock=ctx.clock,
                    fetch_seconds=fetch_seconds,
                    scratch=scratch,
                )
            return files.restore_test(
                path, counts, clock=ctx.clock, fetch_seconds=fetch_seconds, scratch=scratch
            )
    except OpsbookError as exc:
        seconds = ctx.clock.monotonic() - began
        return RestoreCheck(restore_seconds=seconds, scratch="", problems=[str(exc)])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _finish_restore_test(
    ctx: BackupContext, test_id: int, check: RestoreCheck, target: BackupConfig
) -> RestoreTest:
    with ctx.db.write() as session:
        test = session.get(RestoreTest, test_id)
        assert test is not None
        test.status = "failed" if check.problems else "passed"
        test.finished_at = ctx.clock.now()
        test.restore_seconds = check.restore_seconds
        test.within_rto = None if target.rto is None else check.restore_seconds <= target.rto
        test.counts, test.smoke, test.scratch = check.counts, check.smoke, check.scratch
        test.error = ctx.redactor.redact("; ".join(check.problems))
        if check.problems:
            backup = session.get(Backup, test.backup_id)
            assert backup is not None
            backup.status = BackupStatus.FAILED.value
            backup.error = f"restore test #{test.id} failed: {test.error}"
        ctx.record(
            session,
            f"backup.restore_test.{test.status}",
            target.name,
            f"restore test #{test.id} of backup #{test.backup_id} {test.status} in "
            f"{check.restore_seconds:.1f}s" + (f": {test.error}" if test.error else ""),
            backup_id=test.backup_id,
            restore_seconds=check.restore_seconds,
        )
        return test


def restore_backup(ctx: BackupContext, ref: str, to: str) -> str:
    """Restore a backup to a new database URL (postgres), file (sqlite) or folder (files)."""
    with ctx.db.read() as session:
        backup = service.find(session, ctx.config, ref)
    require_usable(backup, "restore")
    target = service.target_config(ctx.config, backup.target)
    with fetched(ctx, target, backup) as path:
        if target.type == "postgres":
            where = postgres.restore(ctx.config, target, path, to)
        elif target.type == "sqlite":
            where = sqlite.restore(path, ctx.config.resolve_path(to.removeprefix("sqlite:///")))
        else:
            where = files.restore(path, ctx.config.resolve_path(to))
    with ctx.db.write() as session:
        ctx.record(
            session,
            "backup.restore",
            target.name,
            f"backup #{backup.id} of {target.name} restored to {where}",
            backup_id=backup.id,
        )
    return where
