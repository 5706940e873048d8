"""What every backup operation uses: the context, the target lease, the file on this machine.

Backup, verify, restore test, restore and prune span several short transactions (a row is
written before a dump starts, so a crash leaves a trace) and never hold one open while a tool
runs. Backups and prunes of one target hold the `backup:<target>` lease.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from opsbook.backups.model import BackupFailure, BackupStatus, Progress
from opsbook.backups.storage import Storage, open_storage, scratch_dir
from opsbook.backups.tables import Backup
from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.config.backups import BackupConfig
from opsbook.errors import ConflictError
from opsbook.journal import service as journal
from opsbook.secrets import Redactor
from opsbook.storage import Database, coordination
from opsbook.storage.coordination import Lease

LEASE_TTL_SECONDS = 120.0
HEARTBEAT_SECONDS = 20.0
"""Long work renews the target's lease (and a running backup its row's heartbeat) this often."""


@dataclass
class BackupContext:
    """Everything an operation uses. `progress` hears bytes written during long work."""

    config: Config
    db: Database
    clock: Clock
    node_id: str
    actor: str = "opsbook"
    progress: Progress | None = None
    redactor: Redactor = field(default_factory=Redactor)

    def storage(self, target: BackupConfig) -> Storage:
        return open_storage(self.config, target.destination)

    def record(self, session: Any, action: str, target: str, summary: str, **details: Any) -> None:
        journal.record(
            session,
            self.clock,
            actor=self.actor,
            action=action,
            subject=journal.Subject("backup_target", target),
            summary=summary,
            details=details,
            redactor=self.redactor,
        )


def lease_name(target: str) -> str:
    return f"backup:{target}"


def acquire_target(session: Session, ctx: BackupContext, name: str) -> Lease:
    now = ctx.clock.now()
    lease = coordination.acquire(
        session, lease_name(name), f"{ctx.node_id}:{id(ctx)}", LEASE_TTL_SECONDS, now
    )
    if lease is None:
        holder = coordination.current_holder(session, lease_name(name), now)
        who = holder.holder if holder else "another process"
        raise ConflictError(f"a backup or prune of {name!r} is already running ({who})")
    return lease


class LeaseKeeper:
    """A progress callback that renews the target's lease every `HEARTBEAT_SECONDS` (calling
    `on_renew` in the same transaction) and stops the work when the lease was lost."""

    def __init__(
        self,
        ctx: BackupContext,
        lease: Lease,
        on_renew: Callable[[Session, datetime], None] | None = None,
    ) -> None:
        self.ctx, self.lease, self.on_renew = ctx, lease, on_renew
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
                session, self.lease.name, self.lease.holder, LEASE_TTL_SECONDS, now
            )
            if renewed is None or renewed.token != self.lease.token:
                raise BackupFailure("lost the backup lease (this process was paused too long)")
            if self.on_renew is not None:
                self.on_renew(session, now)


def load(ctx: BackupContext, backup_id: int) -> Backup:
    with ctx.db.read() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None
        return backup


@contextlib.contextmanager
def fetched(ctx: BackupContext, target: BackupConfig, backup: Backup) -> Iterator[Path]:
    """The backup's file on this machine, downloaded into a scratch folder when remote."""
    storage = ctx.storage(target)
    assert backup.key is not None
    local = storage.local_path(backup.key)
    if local is not None:
        if not local.is_file():
            raise BackupFailure(f"the backup file {local} is missing")
        yield local
        return
    folder = scratch_dir(ctx.config)
    try:
        path = folder / Path(backup.key).name
        storage.fetch(backup.key, path)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def require_usable(backup: Backup, what: str) -> None:
    if backup.pruned_at is not None:
        raise ConflictError(f"backup #{backup.id} was pruned; its file is gone")
    if backup.status != BackupStatus.OK.value or backup.key is None:
        raise ConflictError(f"cannot {what} backup #{backup.id}: it is {backup.status}")
