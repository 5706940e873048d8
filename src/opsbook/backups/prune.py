"""Applying retention: delete the files of backups the policy does not keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsbook.backups import service
from opsbook.backups.context import BackupContext, acquire_target
from opsbook.backups.model import BackupStatus
from opsbook.backups.retention import Candidate, plan
from opsbook.backups.tables import Backup
from opsbook.config.backups import BackupConfig
from opsbook.storage import coordination


@dataclass(frozen=True, slots=True)
class PruneDecision:
    backup_id: int
    target: str
    finished_at: datetime | None
    status: str
    keep: bool
    reasons: list[str]


def prune(
    ctx: BackupContext, name: str | None = None, *, dry_run: bool = False
) -> list[PruneDecision]:
    """Apply each target's retention; with `dry_run`, only say what would go."""
    targets = (
        [service.target_config(ctx.config, name)] if name else list(ctx.config.settings.backups)
    )
    decisions: list[PruneDecision] = []
    for target in targets:
        if dry_run:
            decisions.extend(prune_target(ctx, target, dry_run=True))
            continue
        with ctx.db.write() as session:
            lease = acquire_target(session, ctx, target.name)
        try:
            decisions.extend(prune_target(ctx, target, dry_run=False))
        finally:
            with ctx.db.write() as session:
                coordination.release(session, lease, ctx.clock.now())
    return decisions


def prune_target(ctx: BackupContext, target: BackupConfig, *, dry_run: bool) -> list[PruneDecision]:
    with ctx.db.read() as session:
        rows = [b for b in service.listing(session, target.name) if b.status != "running"]
        busy = {b.id for b in rows if service.restore_test_running(session, b.id)}
    good = [b for b in rows if b.status == BackupStatus.OK.value and b.finished_at]
    kept = plan(
        [Candidate(b.id, b.finished_at, b.verified) for b in good if b.finished_at],
        target.retention,
    )
    decisions: list[PruneDecision] = []
    for backup in rows:
        reasons = kept.get(backup.id, [])
        if backup.id in busy:
            reasons = [*reasons, "a restore test is running"]
        decisions.append(
            PruneDecision(
                backup.id, target.name, backup.finished_at, backup.status, bool(reasons), reasons
            )
        )
    if not dry_run:
        _delete(ctx, target, [d.backup_id for d in decisions if not d.keep])
    return decisions


def _delete(ctx: BackupContext, target: BackupConfig, ids: list[int]) -> None:
    if not ids:
        return
    storage = ctx.storage(target)
    for backup_id in ids:
        with ctx.db.write() as session:
            backup = session.get(Backup, backup_id)
            assert backup is not None
            if backup.key:
                storage.delete(backup.key)
            backup.pruned_at = ctx.clock.now()
            ctx.record(
                session,
                "backup.prune",
                target.name,
                f"backup #{backup_id} of {target.name} pruned by retention",
                backup_id=backup_id,
            )
