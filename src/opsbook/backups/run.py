"""Running a backup: clear what interrupted backups left, dump to a staging file, checksum,
publish, verify, copy off-site, then prune."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from opsbook.backups import files, postgres, service, sqlite
from opsbook.backups.context import BackupContext, LeaseKeeper, acquire_target, load
from opsbook.backups.leftovers import remove_leftovers
from opsbook.backups.model import BackupStatus, DumpResult, OffsiteStatus, Progress
from opsbook.backups.offsite import copy_new, retry_owed
from opsbook.backups.prune import prune_target
from opsbook.backups.storage import file_digest
from opsbook.backups.tables import Backup
from opsbook.backups.verify import verify_stored
from opsbook.config.backups import BackupConfig
from opsbook.errors import OpsbookError
from opsbook.storage import coordination
from opsbook.storage.coordination import Lease

_EXTENSIONS = {"postgres": postgres.EXTENSION, "sqlite": sqlite.EXTENSION, "files": files.EXTENSION}


def run_backup(ctx: BackupContext, name: str) -> Backup:
    """Back up target `name`, verify it, copy it off-site, and prune its old backups. Returns
    the row; a failed backup comes back with status `failed` and its error, the previous good
    one untouched. A failed off-site copy leaves the backup good (`offsite_status: failed`)."""
    target = service.target_config(ctx.config, name)
    lease, backup_id = _begin(ctx, target)
    try:
        remove_leftovers(ctx, target, lease)
        backup = _dump_and_store(ctx, target, backup_id, lease)
        if backup.status == BackupStatus.OK.value:
            backup = verify_stored(ctx, target, backup_id)
        if backup.status == BackupStatus.OK.value:
            backup = copy_new(ctx, target, backup, lease)
            prune_target(ctx, target, dry_run=False)
        if backup.offsite_status != OffsiteStatus.FAILED.value:
            retry_owed(ctx, target, lease)  # after the prune: no copy of a backup it deletes
        return backup
    finally:
        with ctx.db.write() as session:
            coordination.release(session, lease, ctx.clock.now())


def _begin(ctx: BackupContext, target: BackupConfig) -> tuple[Lease, int]:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        service.mark_stale(session, now)
        service.note_targets(session, [target.name], now)
        lease = acquire_target(session, ctx, target.name)
        backup = Backup(
            target=target.name,
            type=target.type,
            status=BackupStatus.RUNNING.value,
            started_at=now,
            heartbeat_at=now,
            tool_versions={},
            counts={},
            error="",
            verify_error="",
            node_id=ctx.node_id,
            actor=ctx.actor,
        )
        session.add(backup)
        session.flush()
        return lease, backup.id


def _dump_and_store(
    ctx: BackupContext, target: BackupConfig, backup_id: int, lease: Lease
) -> Backup:
    storage = ctx.storage(target)
    started = ctx.clock.now()
    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    key = f"{target.name}/{target.name}-{stamp}-{backup_id}.{_EXTENSIONS[target.type]}"
    staged = storage.staging_dir(key) / f".{Path(key).name}.partial"
    began = ctx.clock.monotonic()
    try:
        heartbeat = _heartbeat(ctx, backup_id, lease)
        result = _dump(ctx, target, staged, heartbeat)
        size, digest = file_digest(staged)
        storage.put(staged, key, heartbeat)
    except BaseException as exc:
        staged.unlink(missing_ok=True)
        _fail(ctx, backup_id, _reason(exc), ctx.clock.monotonic() - began)
        if not isinstance(exc, Exception):
            raise
        return load(ctx, backup_id)
    with ctx.db.write() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None
        backup.status = BackupStatus.OK.value
        backup.finished_at = ctx.clock.now()
        backup.duration_seconds = ctx.clock.monotonic() - began
        backup.size_bytes, backup.sha256 = size, digest
        backup.key, backup.location = key, storage.location(key)
        backup.tool_versions, backup.counts = result.tool_versions, result.counts
        ctx.record(
            session,
            "backup.ok",
            target.name,
            f"backup #{backup_id} of {target.name}: {size} bytes at {backup.location}",
            backup_id=backup_id,
            sha256=digest,
        )
        return backup


def _dump(ctx: BackupContext, target: BackupConfig, out: Path, progress: Progress) -> DumpResult:
    if target.type == "postgres":
        return postgres.dump(ctx.config, target, out, progress)
    if target.type == "sqlite":
        return sqlite.dump(ctx.config, target, out, progress)
    return files.dump(ctx.config, target, out, progress)


def _heartbeat(ctx: BackupContext, backup_id: int, lease: Lease) -> LeaseKeeper:
    """Renews the lease and the running row's heartbeat while the dump goes on."""

    def beat(session: Session, now: datetime) -> None:
        backup = session.get(Backup, backup_id)
        if backup is not None:
            backup.heartbeat_at = now

    return LeaseKeeper(ctx, lease, beat)


def _fail(ctx: BackupContext, backup_id: int, reason: str, seconds: float) -> None:
    with ctx.db.write() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None
        backup.status = BackupStatus.FAILED.value
        backup.finished_at = ctx.clock.now()
        backup.duration_seconds = seconds
        backup.error = ctx.redactor.redact(reason)
        ctx.record(
            session,
            "backup.failed",
            backup.target,
            f"backup #{backup_id} of {backup.target} failed: {backup.error}",
            backup_id=backup_id,
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OpsbookError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc)
    return f"{type(exc).__name__}: {exc}"
