"""Off-site copies: each verified backup copied to a second store and read back from there.

After a backup is written and verified, the same file is copied to the target's `offsite`
store, then read back in full: the copy's size and SHA-256 must equal the backup's. A failed
copy leaves the backup good; its row says `offsite_status: failed` and why, the
`backup_offsite_failed` metric raises the alert, and the next backup of the target (or
`opsbook backup offsite`) tries again, newest first, until one fails.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.backups import service
from opsbook.backups.context import (
    BackupContext,
    LeaseKeeper,
    acquire_target,
    fetched,
    require_usable,
)
from opsbook.backups.model import BackupStatus, OffsiteStatus, Progress
from opsbook.backups.storage import Storage, open_storage
from opsbook.backups.tables import Backup
from opsbook.config.backups import BackupConfig
from opsbook.errors import ConflictError, OpsbookError
from opsbook.storage import coordination
from opsbook.storage.coordination import Lease

log = logging.getLogger(__name__)

RETRIED = (OffsiteStatus.PENDING.value, OffsiteStatus.FAILED.value)
"""Off-site states the next run tries again (while the backup itself is kept)."""


def offsite_storage(ctx: BackupContext, target: BackupConfig) -> Storage:
    if target.offsite is None:
        raise ConflictError(f"backup target {target.name!r} has no `offsite` store configured")
    return open_storage(ctx.config, target.offsite)


def copy_new(ctx: BackupContext, target: BackupConfig, backup: Backup, lease: Lease) -> Backup:
    """Under the target's lease: copy a new, verified backup off-site (without `offsite`, or
    for a failed backup, nothing is done)."""
    if target.offsite is None or backup.status != BackupStatus.OK.value:
        return backup
    return copy_one(ctx, target, backup.id, LeaseKeeper(ctx, lease))


def retry_owed(ctx: BackupContext, target: BackupConfig, lease: Lease) -> None:
    """Under the target's lease: retry the copies still owed, newest first, until one fails
    (the store is then most likely still unreachable)."""
    if target.offsite is None:
        return
    with ctx.db.read() as session:
        owed = owed_copies(session, target.name)
    for backup_id in owed:
        copied = copy_one(ctx, target, backup_id, LeaseKeeper(ctx, lease))
        if copied.offsite_status != OffsiteStatus.OK.value:
            return


def copy_ref(ctx: BackupContext, ref: str) -> list[Backup]:
    """`opsbook backup offsite`: copy backup `ref` (an id) off-site again, or every copy the
    target named `ref` still owes. Returns the rows, newest first."""
    with ctx.db.read() as session:
        if ref.isdigit():
            backup = service.find(session, ctx.config, ref)
            require_usable(backup, "copy")
            ids = [backup.id]
            target = service.target_config(ctx.config, backup.target)
        else:
            target = service.target_config(ctx.config, ref)
            ids = owed_copies(session, target.name)
    offsite_storage(ctx, target)
    with ctx.db.write() as session:
        lease = acquire_target(session, ctx, target.name)
    try:
        return [copy_one(ctx, target, i, LeaseKeeper(ctx, lease)) for i in ids]
    finally:
        with ctx.db.write() as session:
            coordination.release(session, lease, ctx.clock.now())


def owed_copies(session: Session, target: str) -> list[int]:
    """Good, kept backups of `target` whose off-site copy is pending or failed, newest first."""
    return list(
        session.scalars(
            select(Backup.id)
            .where(
                Backup.target == target,
                Backup.status == BackupStatus.OK.value,
                Backup.pruned_at.is_(None),
                Backup.offsite_status.in_(RETRIED),
            )
            .order_by(Backup.id.desc())
        )
    )


def copy_one(ctx: BackupContext, target: BackupConfig, backup_id: int, keeper: Progress) -> Backup:
    """Copy backup `backup_id` off-site and read the copy back; the row records the outcome.
    The caller holds the target's lease; `keeper` renews it."""
    store = offsite_storage(ctx, target)
    with ctx.db.write() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None and backup.key is not None
        backup.offsite_status = OffsiteStatus.PENDING.value  # a crash from here leaves it owed
        backup.offsite_attempts += 1
        backup.offsite_location = store.location(backup.key)
    problem = ""
    try:
        with fetched(ctx, target, backup) as path:
            store.copy(path, backup.key, keeper)
        size, digest = store.digest(backup.key, keeper)
        if (size, digest) != (backup.size_bytes, backup.sha256):
            problem = (
                f"the copy at {backup.offsite_location} reads back as {digest} ({size} bytes), "
                f"the backup is {backup.sha256} ({backup.size_bytes} bytes)"
            )
    except OpsbookError as exc:
        problem = str(exc)
    return _record(ctx, backup_id, problem)


def _record(ctx: BackupContext, backup_id: int, problem: str) -> Backup:
    with ctx.db.write() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None
        backup.offsite_error = ctx.redactor.redact(problem)
        if problem:
            backup.offsite_status = OffsiteStatus.FAILED.value
            summary = f"off-site copy of backup #{backup_id} failed: {backup.offsite_error}"
            log.warning("%s (%s)", summary, backup.target)
        else:
            backup.offsite_status = OffsiteStatus.OK.value
            backup.offsite_verified_at = ctx.clock.now()
            summary = f"backup #{backup_id} copied to {backup.offsite_location} and read back"
        ctx.record(
            session,
            "backup.offsite",
            backup.target,
            summary,
            backup_id=backup_id,
            ok=not problem,
            attempt=backup.offsite_attempts,
        )
        return backup
