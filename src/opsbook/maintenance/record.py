"""Journal entries for maintenance that changed something (ended connections, VACUUM, ...)."""

from __future__ import annotations

from typing import Any

from opsbook.clock import Clock, SystemClock
from opsbook.config import Config
from opsbook.journal.service import Subject, record
from opsbook.storage import Database


def journal_outcome(
    db: Database,
    config: Config,
    *,
    action: str,
    summary: str,
    data: dict[str, Any],
    actor: str = "opsbook",
    clock: Clock | None = None,
) -> None:
    """Record `action` (e.g. `pg.kill-idle`) with its data, secrets masked."""
    subject = Subject("maintenance", str(data.get("database") or data.get("path") or action))
    with db.write() as session:
        record(
            session,
            clock or SystemClock(),
            actor=actor,
            action=action,
            subject=subject,
            summary=summary,
            details=data,
            redactor=config.redactor,
        )
