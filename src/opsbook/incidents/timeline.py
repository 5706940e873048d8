"""Reading an incident's record: its timeline entries and the alerts and runs linked to it.

Entries are written by `service.add_event` (with the journal entry, in the caller's
transaction); this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.incidents.model import EventKind
from opsbook.incidents.tables import IncidentEventRow, IncidentLinkRow


def events(
    session: Session,
    incident_id: int,
    *,
    public_only: bool = False,
    kind: EventKind | None = None,
) -> Sequence[IncidentEventRow]:
    """The incident's timeline, oldest first; only public entries or one kind when asked."""
    query = (
        select(IncidentEventRow)
        .where(IncidentEventRow.incident_id == incident_id)
        .order_by(IncidentEventRow.id)
    )
    if public_only:
        query = query.where(IncidentEventRow.public.is_(True))
    if kind is not None:
        query = query.where(IncidentEventRow.kind == kind.value)
    return session.scalars(query).all()


def links(session: Session, incident_id: int, kind: str | None = None) -> Sequence[IncidentLinkRow]:
    """The alerts and runs linked to the incident (or those of one `kind`), in linking order."""
    query = (
        select(IncidentLinkRow)
        .where(IncidentLinkRow.incident_id == incident_id)
        .order_by(IncidentLinkRow.id)
    )
    if kind:
        query = query.where(IncidentLinkRow.kind == kind)
    return session.scalars(query).all()
