"""Applying retention: delete the files of backups the policy does not keep.

The policy applies to the backups in the destination and, on its own, to their off-site copies:
the verified copies are the candidates there, and the newest verified copy is always kept. A
copy still owed (pending or failed) stays while its backup stays, so it can be retried; it goes
with its backup, and so does the copy of a backup that failed later (a restore test)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from opsbook.backups import service
from opsbook.backups.context import BackupContext, acquire_target
from opsbook.backups.model import BackupStatus, OffsiteStatus
from opsbook.backups.offsite import RETRIED, offsite_storage
from opsbook.backups.retention import Candidate, plan
from opsbook.backups.tables import Backup
from opsbook.config.backups import BackupConfig
from opsbook.errors import OpsbookError
from opsbook.storage import coordination

log = logging.getLogger(__name__)
DESTINATION, OFFSITE = "destination", "offsite"


@dataclass(frozen=True, slots=True)
class PruneDecision:
    backup_id: int
    target: str
    finished_at: datetime | None
    status: str
    keep: bool
    reasons: list[str]
    copy: str = DESTINATION  # or OFFSITE: the decision is about the off-site copy


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
        copies = service.offsite_copies(session, target.name) if target.offsite else []
    decisions = _destination_decisions(target, rows, busy)
    kept = {d.backup_id for d in decisions if d.keep}
    offsite = _offsite_decisions(target, copies, kept)
    if not dry_run:
        _delete(ctx, target, [d.backup_id for d in decisions if not d.keep])
        _delete_offsite(ctx, target, [d.backup_id for d in offsite if not d.keep])
    return decisions + offsite


def _destination_decisions(
    target: BackupConfig, rows: list[Backup], busy: set[int]
) -> list[PruneDecision]:
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
        decisions.append(_decision(target, backup, reasons))
    return decisions


def _offsite_decisions(
    target: BackupConfig, copies: list[Backup], kept: set[int]
) -> list[PruneDecision]:
    good = [
        b
        for b in copies
        if b.status == BackupStatus.OK.value
        and b.offsite_status == OffsiteStatus.OK.value
        and b.finished_at
    ]
    plan_kept = plan(
        [Candidate(b.id, b.finished_at, True) for b in good if b.finished_at], target.retention
    )
    owed = {
        b.id for b in copies if b.offsite_status in RETRIED and b.status == BackupStatus.OK.value
    }
    decisions: list[PruneDecision] = []
    for backup in copies:
        reasons = plan_kept.get(backup.id, [])
        if backup.id in owed and backup.id in kept:
            reasons = ["the copy is to be retried"]
        decisions.append(_decision(target, backup, reasons, OFFSITE))
    return decisions


def _decision(
    target: BackupConfig, backup: Backup, reasons: list[str], copy: str = DESTINATION
) -> PruneDecision:
    return PruneDecision(
        backup.id, target.name, backup.finished_at, backup.status, bool(reasons), reasons, copy
    )


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


def _delete_offsite(ctx: BackupContext, target: BackupConfig, ids: list[int]) -> None:
    """Delete off-site copies; one that cannot be deleted now (the store is unreachable) is
    logged and left for the next prune."""
    if not ids:
        return
    store = offsite_storage(ctx, target)
    for backup_id in ids:
        with ctx.db.write() as session:
            backup = session.get(Backup, backup_id)
            assert backup is not None
            try:
                if backup.key:
                    store.delete(backup.key)
            except OpsbookError as exc:
                log.warning("cannot delete the off-site copy of backup #%d: %s", backup_id, exc)
                return
            backup.offsite_status = OffsiteStatus.PRUNED.value
            ctx.record(
                session,
                "backup.prune",
                target.name,
                f"off-site copy of backup #{backup_id} of {target.name} pruned by retention",
                backup_id=backup_id,
                copy=OFFSITE,
            )
