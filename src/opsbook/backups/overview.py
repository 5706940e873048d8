"""Each backup target at a glance: the age of its newest good backup against the RPO, whether
its last attempt or restore test failed, and the last restore time against the RTO."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsbook.backups import service
from opsbook.backups.model import BackupStatus
from opsbook.backups.schema import restore_test_json
from opsbook.backups.tables import Backup, RestoreTest
from opsbook.config import Config


@dataclass(frozen=True, slots=True)
class TargetOverview:
    name: str
    type: str
    rpo_seconds: float
    rto_seconds: float | None
    newest_good: Backup | None
    age_seconds: float | None  # since the newest good backup finished; None: there is none
    last_attempt: Backup | None
    last_restore_test: RestoreTest | None

    @property
    def past_rpo(self) -> bool:
        """No good backup at all, or the newest one is older than the RPO."""
        return self.age_seconds is None or self.age_seconds > self.rpo_seconds

    @property
    def last_failed(self) -> bool:
        """The newest attempt or the newest restore test failed (`backup_last_failed`)."""
        attempt = self.last_attempt
        test = self.last_restore_test
        return bool(attempt and attempt.status == BackupStatus.FAILED.value) or bool(
            test and test.status == "failed"
        )

    @property
    def within_rto(self) -> bool | None:
        """Whether the last restore test finished within the RTO; None without both."""
        test = self.last_restore_test
        return None if test is None else test.within_rto


def target_overviews(session: Session, config: Config, now: datetime) -> list[TargetOverview]:
    """Every configured target, in config order."""
    found = []
    for target in config.settings.backups:
        good = service.newest_good(session, target.name)
        finished = good.finished_at if good is not None else None
        found.append(
            TargetOverview(
                name=target.name,
                type=target.type,
                rpo_seconds=target.rpo,
                rto_seconds=target.rto,
                newest_good=good,
                age_seconds=(now - finished).total_seconds() if finished else None,
                last_attempt=service.newest_attempt(session, target.name),
                last_restore_test=service.last_restore_test_of_target(session, target.name),
            )
        )
    return found


def target_json(item: TargetOverview) -> dict[str, Any]:
    good, attempt, test = item.newest_good, item.last_attempt, item.last_restore_test
    return {
        "name": item.name,
        "type": item.type,
        "rpo_seconds": item.rpo_seconds,
        "rto_seconds": item.rto_seconds,
        "newest_good_id": good.id if good else None,
        "newest_good_at": good.finished_at if good else None,
        "age_seconds": item.age_seconds,
        "past_rpo": item.past_rpo,
        "last_attempt_id": attempt.id if attempt else None,
        "last_attempt_status": attempt.status if attempt else None,
        "last_failed": item.last_failed,
        "within_rto": item.within_rto,
        "last_restore_test": restore_test_json(test) if test else None,
    }
