"""/api/v1/journal: the audit journal, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query
from pydantic import BaseModel

from opsbook.accounts.model import Role
from opsbook.journal import service as journal
from opsbook.journal.service import Subject
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.security import RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["journal"])


class JournalEntryInfo(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    summary: str
    details: dict[str, Any]


@router.get("/journal", openapi_extra=needs(Role.VIEWER))
def entries(
    runtime: RuntimeDep,
    subject_type: str | None = None,
    subject_id: str | None = None,
    action: str | None = Query(default=None, description="Only actions starting with this."),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[JournalEntryInfo]:
    """Recorded actions, newest first: who did what to which thing."""
    subject = Subject(subject_type, subject_id or "") if subject_type and subject_id else None
    with runtime.db.read() as session:
        rows = journal.entries(session, subject=subject, action_prefix=action, limit=limit)
        return [
            JournalEntryInfo(
                id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                summary=row.summary,
                details=row.details,
            )
            for row in rows
        ]
