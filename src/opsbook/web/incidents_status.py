"""The status page's incidents: those marked public, with only their public updates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsbook.incidents import service as incidents
from opsbook.incidents import timeline
from opsbook.runtime import Runtime
from opsbook.web.status import PublicIncident, PublicUpdate, StatusContribution

RECENT = timedelta(days=7)  # resolved incidents stay on the page this long


def public_incidents(runtime: Runtime, session: Session) -> StatusContribution:
    now = runtime.clock.now()
    shown = []
    for row in incidents.list_incidents(session, limit=50):
        if not row.public or (row.resolved_at is not None and now - row.resolved_at > RECENT):
            continue
        updates = tuple(
            PublicUpdate(at=e.at, status=str(e.data.get("status", row.status)), text=e.text)
            for e in timeline.events(session, row.id, public_only=True)
        )
        shown.append(
            PublicIncident(
                title=row.title,
                status=row.status,
                severity=row.severity,
                started_at=row.detected_at,
                resolved_at=row.resolved_at,
                updates=updates,
            )
        )
    return StatusContribution(incidents=shown)
