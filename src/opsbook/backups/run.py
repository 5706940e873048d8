"""Running a backup: dump to a staging file, checksum, publish, verify, then prune."""

from __future__ import annotations

from pathlib import Path

from opsbook.backups import context, files, postgres, service, sqlite
from opsbook.backups.context import BackupContext, acquire_target, file_digest, load
from opsbook.backups.model import BackupFailure, BackupStatus, DumpResult, Progress
from opsbook.backups.prune import prune_target
from opsbook.backups.tables import Backup
from opsbook.backups.verify import verify_stored
from opsbook.config.backups import BackupConfig
from opsbook.errors import OpsbookError
from opsbook.storage import coordination
from opsbook.storage.coordination import Lease

HEARTBEAT_SECONDS = 20.0
_EXTENSIONS = {"postgres": postgres.EXTENSION, "sqlite": sqlite.EXTENSION, "files": files.EXTENSION}


def run_backup(ctx: BackupContext, name: str) -> Backup:
    """Back up target `name`, verify it, and prune its old backups. Returns the row; a failed
    backup comes back with status `failed` and its error, the previous good one untouched."""
    target = service.target_config(ctx.config, name)
    lease, backup_id = _begin(ctx, target)
    try:
        backup = _dump_and_store(ctx, target, backup_id, lease)
        if backup.status == BackupStatus.OK.value:
            backup = verify_stored(ctx, target, backup_id)
            if backup.status == BackupStatus.OK.value:
                prune_target(ctx, target, dry_run=False)
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
        result = _dump(ctx, target, staged, _Heartbeat(ctx, backup_id, lease))
        size, digest = file_digest(staged)
        storage.put(staged, key)
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


class _Heartbeat:
    """Progress callback that renews the lease and the row's heartbeat every so often."""

    def __init__(self, ctx: BackupContext, backup_id: int, lease: Lease) -> None:
        self.ctx, self.backup_id, self.lease = ctx, backup_id, lease
        self.last = ctx.clock.monotonic()

    def __call__(self, written: int) -> None:
        if self.ctx.progress is not None:
            self.ctx.progress(written)
        if self.ctx.clock.monotonic() - self.last < HEARTBEAT_SECONDS:
            return
        self.last = self.ctx.clock.monotonic()
        now = self.ctx.clock.now()
        with self.ctx.db.write() as session:
            renewed = coordination.acquire(
                session, self.lease.name, self.lease.holder, context.LEASE_TTL_SECONDS, now
            )
            if renewed is None or renewed.token != self.lease.token:
                raise BackupFailure("lost the backup lease (this process was paused too long)")
            backup = session.get(Backup, self.backup_id)
            if backup is not None:
                backup.heartbeat_at = now


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
