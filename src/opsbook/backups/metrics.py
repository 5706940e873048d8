"""Backup metrics, computed from the catalogue (so every node computes the same).

backup_age_seconds{target}       seconds since the newest good backup finished; before the
                                 first one, since opsbook first saw the target
backup_last_failed{target}       1 when the newest attempt, or the newest restore test, failed
backup_restore_seconds{target}   measured time of the newest restore test
backup_rpo_seconds{target}       the configured RPO, for dashboards and rules
backup_offsite_failed{target}    with `offsite`: 1 while a good backup's off-site copy has
                                 failed and no retry has succeeded yet
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from opsbook.backups import service
from opsbook.backups.model import BackupStatus
from opsbook.config import Config
from opsbook.scheduler.metrics import Sample


def backup_samples(session: Session, config: Config, now: datetime) -> list[Sample]:
    """The current value of every backup metric, for every configured target. Targets must
    have been noted (`service.note_targets`); one that was not counts as first seen `now`."""
    samples: list[Sample] = []
    seen = service.first_seen(session)
    for target in config.settings.backups:
        labels = {"target": target.name}
        good = service.newest_good(session, target.name)
        since = good.finished_at if good and good.finished_at else seen.get(target.name, now)
        age = max(0.0, (now - since).total_seconds())
        samples.append(Sample("backup_age_seconds", labels, age, now))
        attempt = service.newest_attempt(session, target.name)
        test = service.last_restore_test_of_target(session, target.name)
        failed = bool(attempt and attempt.status == BackupStatus.FAILED.value) or bool(
            test and test.status == "failed"
        )
        samples.append(Sample("backup_last_failed", labels, 1.0 if failed else 0.0, now))
        if test is not None and test.restore_seconds is not None:
            samples.append(Sample("backup_restore_seconds", labels, test.restore_seconds, now))
        samples.append(Sample("backup_rpo_seconds", labels, target.rpo, now))
        if target.offsite is not None:
            offsite = 1.0 if service.offsite_failed(session, target.name) else 0.0
            samples.append(Sample("backup_offsite_failed", labels, offsite, now))
    return samples
