"""Catalogue operations given a session and `now`; they flush, the caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsbook.backups.model import BackupStatus, OffsiteStatus
from opsbook.backups.tables import Backup, BackupTarget, RestoreTest
from opsbook.config import Config
from opsbook.config.backups import BackupConfig
from opsbook.errors import NotFoundError

STALE_AFTER_SECONDS = 180.0
"""A running backup whose heartbeat is older than this belonged to a process that is gone."""


def target_config(config: Config, name: str) -> BackupConfig:
    for target in config.settings.backups:
        if target.name == name:
            return target
    known = ", ".join(t.name for t in config.settings.backups) or "none configured"
    raise NotFoundError(f"unknown backup target {name!r} (known: {known})")


def find(session: Session, config: Config, ref: str) -> Backup:
    """The backup with id `ref`, or the newest good backup of the target named `ref`."""
    if ref.isdigit():
        backup = session.get(Backup, int(ref))
        if backup is None:
            raise NotFoundError(f"no backup #{ref}")
        return backup
    target_config(config, ref)
    backup = newest_good(session, ref)
    if backup is None:
        raise NotFoundError(f"target {ref!r} has no good backup yet")
    return backup


def newest_good(session: Session, target: str) -> Backup | None:
    return session.scalars(
        select(Backup)
        .where(
            Backup.target == target,
            Backup.status == BackupStatus.OK.value,
            Backup.pruned_at.is_(None),
        )
        .order_by(Backup.id.desc())
        .limit(1)
    ).first()


def newest_attempt(session: Session, target: str) -> Backup | None:
    return session.scalars(
        select(Backup)
        .where(Backup.target == target, Backup.status != BackupStatus.RUNNING.value)
        .order_by(Backup.id.desc())
        .limit(1)
    ).first()


def listing(
    session: Session, target: str | None = None, *, include_pruned: bool = False
) -> list[Backup]:
    """Backups newest first."""
    query = select(Backup).order_by(Backup.id.desc())
    if target is not None:
        query = query.where(Backup.target == target)
    if not include_pruned:
        query = query.where(Backup.pruned_at.is_(None))
    return list(session.scalars(query))


def offsite_copies(session: Session, target: str) -> list[Backup]:
    """Finished backups of `target` with an off-site copy made or owed, pruned ones too (a
    copy may outlive its backup), newest first."""
    live = (OffsiteStatus.PENDING.value, OffsiteStatus.OK.value, OffsiteStatus.FAILED.value)
    return list(
        session.scalars(
            select(Backup)
            .where(
                Backup.target == target,
                Backup.status != BackupStatus.RUNNING.value,
                Backup.offsite_status.in_(live),
            )
            .order_by(Backup.id.desc())
        )
    )


def offsite_failed(session: Session, target: str) -> bool:
    """Whether a good, kept backup of `target` has an off-site copy that failed."""
    return (
        session.scalars(
            select(Backup.id)
            .where(
                Backup.target == target,
                Backup.status == BackupStatus.OK.value,
                Backup.pruned_at.is_(None),
                Backup.offsite_status == OffsiteStatus.FAILED.value,
            )
            .limit(1)
        ).first()
        is not None
    )


def last_restore_tests(session: Session, backup_ids: Sequence[int]) -> dict[int, RestoreTest]:
    """The newest finished restore test of each backup."""
    tests = session.scalars(
        select(RestoreTest)
        .where(RestoreTest.backup_id.in_(list(backup_ids)), RestoreTest.status != "running")
        .order_by(RestoreTest.id)
    )
    return {test.backup_id: test for test in tests}


def last_restore_test_of_target(session: Session, target: str) -> RestoreTest | None:
    return session.scalars(
        select(RestoreTest)
        .where(RestoreTest.target == target, RestoreTest.status != "running")
        .order_by(RestoreTest.id.desc())
        .limit(1)
    ).first()


def restore_test_running(session: Session, backup_id: int) -> bool:
    return (
        session.scalars(
            select(RestoreTest.id).where(
                RestoreTest.backup_id == backup_id, RestoreTest.status == "running"
            )
        ).first()
        is not None
    )


def note_targets(session: Session, names: Sequence[str], now: datetime) -> None:
    """Remember when each target was first seen (the RPO's baseline before a first backup)."""
    known = set(
        session.scalars(select(BackupTarget.name).where(BackupTarget.name.in_(list(names))))
    )
    for name in names:
        if name in known:
            continue
        try:
            with session.begin_nested():
                session.add(BackupTarget(name=name, first_seen_at=now))
        except IntegrityError:
            pass  # another process noted it first


def first_seen(session: Session) -> dict[str, datetime]:
    """When opsbook first saw each target, by name."""
    return {t.name: t.first_seen_at for t in session.scalars(select(BackupTarget))}


def mark_stale(session: Session, now: datetime) -> list[Backup]:
    """Mark running backups whose process is gone as failed."""
    cutoff = now - timedelta(seconds=STALE_AFTER_SECONDS)
    stale = session.scalars(
        select(Backup).where(
            Backup.status == BackupStatus.RUNNING.value, Backup.heartbeat_at < cutoff
        )
    ).all()
    for backup in stale:
        backup.status = BackupStatus.FAILED.value
        backup.finished_at = now
        backup.error = f"interrupted: the process on {backup.node_id} stopped during the backup"
    session.flush()
    return list(stale)
