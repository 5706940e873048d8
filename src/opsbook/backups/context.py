"""What every backup operation uses: the context, the target lease, the file on this machine.

Backup, verify, restore test, restore and prune span several short transactions (a row is
written before a dump starts, so a crash leaves a trace) and never hold one open while a tool
runs. Backups and prunes of one target hold the `backup:<target>` lease.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
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
_HASH_CHUNK = 1024 * 1024


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


def acquire_target(session: Session, ctx: BackupContext, name: str) -> Lease:
    now = ctx.clock.now()
    lease = coordination.acquire(
        session, f"backup:{name}", f"{ctx.node_id}:{id(ctx)}", LEASE_TTL_SECONDS, now
    )
    if lease is None:
        holder = coordination.current_holder(session, f"backup:{name}", now)
        who = holder.holder if holder else "another process"
        raise ConflictError(f"a backup or prune of {name!r} is already running ({who})")
    return lease


def load(ctx: BackupContext, backup_id: int) -> Backup:
    with ctx.db.read() as session:
        backup = session.get(Backup, backup_id)
        assert backup is not None
        return backup


def file_digest(path: Path) -> tuple[int, str]:
    """Size in bytes and SHA-256 (hex) of a file."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


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
