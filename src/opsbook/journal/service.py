"""Writing to and reading from the journal. Entries join the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.journal.tables import JournalEntry
from opsbook.secrets import Redactor

SYSTEM_ACTOR = "opsbook"


@dataclass(frozen=True, slots=True)
class Subject:
    """What an entry is about: `Subject("run", "42")`."""

    type: str
    id: str


def record(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    action: str,
    subject: Subject,
    summary: str = "",
    details: dict[str, Any] | None = None,
    redactor: Redactor | None = None,
) -> JournalEntry:
    """Append an entry in the caller's transaction; secrets in the text are masked first."""
    redact = redactor or Redactor()
    entry = JournalEntry(
        at=clock.now(),
        actor=actor,
        action=action,
        subject_type=subject.type,
        subject_id=subject.id,
        summary=redact.redact(summary),
        details=redact.redact_data(details or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    subject: Subject | None = None,
    action_prefix: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> Sequence[JournalEntry]:
    """Entries newest first, filtered by subject, action prefix and time."""
    query = select(JournalEntry).order_by(JournalEntry.id.desc()).limit(limit)
    if subject is not None:
        query = query.where(
            JournalEntry.subject_type == subject.type, JournalEntry.subject_id == subject.id
        )
    if action_prefix:
        query = query.where(JournalEntry.action.startswith(action_prefix))
    if since is not None:
        query = query.where(JournalEntry.at >= since)
    return session.scalars(query).all()
