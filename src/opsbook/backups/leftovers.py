"""Leftovers of interrupted backups: staging files and unfinished uploads.

A backup writes its dump to a `.NAME.partial` staging file, an off-site copy to a folder does
the same, and an upload to S3 is an unfinished multipart upload until it completes. A process
killed meanwhile leaves them behind. They are removed at the start of the target's next backup
and when the server's backups worker starts.

Everything that writes them holds the target's `backup:<target>` lease and renews it while it
works. So a leftover may go when that lease is free, held by the caller itself (a backup run
sweeps just after taking it, before it writes anything), or held by a process of this host that
is gone (the holder names its node, `host:pid` by default). As a second guard, for a process
that lost its lease while still alive, a `running` row whose process is alive on this host keeps
its leftovers. Leftovers whose backup is unknown to this store, or of another target, are never
touched. A `running` row whose leftovers go becomes `failed` (interrupted).
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime

import psutil
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.backups.context import BackupContext, lease_name
from opsbook.backups.model import BackupStatus
from opsbook.backups.storage import Leftover, Storage, open_storage
from opsbook.backups.tables import Backup
from opsbook.config.backups import BackupConfig
from opsbook.errors import OpsbookError
from opsbook.storage import coordination
from opsbook.storage.coordination import Lease

log = logging.getLogger(__name__)


def remove_leftovers(
    ctx: BackupContext, target: BackupConfig, lease: Lease | None = None
) -> list[str]:
    """Remove the staging files and unfinished uploads of `target`'s interrupted backups, from
    its destination and its off-site store; `lease` is the target's lease when the caller holds
    it. Returns where each removed leftover was."""
    found = _find(ctx, target)
    if not found:
        return []
    now = ctx.clock.now()
    with ctx.db.write() as session:
        if not _lease_free_or_ours(session, target.name, lease, now):
            return []
        ids = {leftover.backup_id for _store, leftover in found}
        rows = {b.id: b for b in session.scalars(select(Backup).where(Backup.id.in_(ids)))}
        gone = {i for i, row in rows.items() if row.target == target.name and not _alive(row)}
        for backup_id in gone:
            _mark_interrupted(rows[backup_id], now)
    removed = [_discard(store, f, target.name) for store, f in found if f.backup_id in gone]
    where = [w for w in removed if w]
    if where:
        with ctx.db.write() as session:
            ctx.record(
                session,
                "backup.leftovers",
                target.name,
                f"removed {len(where)} leftover(s) of interrupted backups of {target.name}",
                removed=where,
            )
    return where


def _find(ctx: BackupContext, target: BackupConfig) -> list[tuple[Storage, Leftover]]:
    stores = [ctx.storage(target)]
    if target.offsite is not None:
        stores.append(open_storage(ctx.config, target.offsite))
    found: dict[str, tuple[Storage, Leftover]] = {}
    for store in stores:
        try:
            for leftover in store.leftovers(target.name):
                found.setdefault(leftover.where, (store, leftover))
        except OpsbookError as exc:
            log.warning("cannot look for leftovers of backups of %s: %s", target.name, exc)
    return list(found.values())


def _lease_free_or_ours(session: Session, target: str, lease: Lease | None, now: datetime) -> bool:
    """Whether nothing else can be writing for `target`: its lease is free, ours, or held by
    a process of this host that is gone (a holder is `<node id>:<n>`)."""
    holder = coordination.current_holder(session, lease_name(target), now)
    if holder is None:
        return True
    if lease is not None and (holder.token, holder.holder) == (lease.token, lease.holder):
        return True
    pid = _local_pid(holder.holder.rpartition(":")[0])
    return pid is not None and not psutil.pid_exists(pid)


def _alive(backup: Backup) -> bool:
    """A running backup whose process is alive on this host (it may have lost its lease)."""
    if backup.status != BackupStatus.RUNNING.value:
        return False
    pid = _local_pid(backup.node_id)
    return pid is not None and psutil.pid_exists(pid)


def _local_pid(node_id: str) -> int | None:
    """The process id in a node id `host:pid` of this host; None for any other node id."""
    host, _, pid = node_id.rpartition(":")
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def _mark_interrupted(backup: Backup, now: datetime) -> None:
    if backup.status == BackupStatus.RUNNING.value:
        backup.status = BackupStatus.FAILED.value
        backup.finished_at = now
        backup.error = f"interrupted: the process on {backup.node_id} stopped during the backup"


def _discard(store: Storage, leftover: Leftover, target: str) -> str:
    try:
        store.discard(leftover)
    except (OpsbookError, OSError) as exc:
        log.warning("cannot remove %s, left by an interrupted backup: %s", leftover.where, exc)
        return ""
    log.warning(
        "removed %s, left by backup #%d of %s, which was interrupted",
        leftover.where,
        leftover.backup_id,
        target,
    )
    return leftover.where
