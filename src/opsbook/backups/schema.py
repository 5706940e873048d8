"""The versioned JSON of backups and restore tests (`opsbook backup ... --json`, the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opsbook.backups import service
from opsbook.backups.prune import PruneDecision
from opsbook.backups.tables import Backup, RestoreTest


def restore_test_json(test: RestoreTest) -> dict[str, Any]:
    return {
        "id": test.id,
        "backup_id": test.backup_id,
        "target": test.target,
        "status": test.status,
        "started_at": test.started_at,
        "finished_at": test.finished_at,
        "restore_seconds": test.restore_seconds,
        "rto_seconds": test.rto_seconds,
        "within_rto": test.within_rto,
        "counts": test.counts,
        "smoke": test.smoke,
        "scratch": test.scratch,
        "error": test.error,
    }


def backup_json(backup: Backup, last_test: RestoreTest | None = None) -> dict[str, Any]:
    return {
        "id": backup.id,
        "target": backup.target,
        "type": backup.type,
        "status": backup.status,
        "started_at": backup.started_at,
        "finished_at": backup.finished_at,
        "duration_seconds": backup.duration_seconds,
        "size_bytes": backup.size_bytes,
        "sha256": backup.sha256,
        "location": backup.location,
        "tool_versions": backup.tool_versions,
        "counts": backup.counts,
        "verified": backup.verified,
        "verified_at": backup.verified_at,
        "error": backup.error,
        "pruned_at": backup.pruned_at,
        "offsite": offsite_json(backup),
        "restore_seconds": last_test.restore_seconds if last_test else None,
        "last_restore_test": restore_test_json(last_test) if last_test else None,
    }


def offsite_json(backup: Backup) -> dict[str, Any] | None:
    """The off-site copy's state; None when none was asked for."""
    if backup.offsite_status is None:
        return None
    return {
        "status": backup.offsite_status,
        "location": backup.offsite_location,
        "verified_at": backup.offsite_verified_at,
        "attempts": backup.offsite_attempts,
        "error": backup.offsite_error,
    }


def decision_json(decision: PruneDecision) -> dict[str, Any]:
    return {
        "id": decision.backup_id,
        "target": decision.target,
        "finished_at": decision.finished_at,
        "status": decision.status,
        "copy": decision.copy,
        "keep": decision.keep,
        "reasons": decision.reasons,
    }


def backups_json(
    session: Session, target: str | None = None, *, include_pruned: bool = False
) -> list[dict[str, Any]]:
    """Backups newest first, each with its last restore test (`opsbook backup list`, the API)."""
    backups = service.listing(session, target, include_pruned=include_pruned)
    tests = service.last_restore_tests(session, [b.id for b in backups])
    return [backup_json(b, tests.get(b.id)) for b in backups]
