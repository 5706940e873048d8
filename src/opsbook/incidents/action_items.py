"""Action items: the follow-ups an incident leaves behind, each change on its timeline.

Like the rest of the incident operations, each function takes a Session and flushes; the caller
commits once, so the item, its timeline entry and the journal entry are stored together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.errors import NotFoundError, UsageError
from opsbook.incidents import service
from opsbook.incidents.model import EventKind
from opsbook.incidents.service import IncidentContext
from opsbook.incidents.tables import ActionItemRow

STATUSES = ("open", "done", "dropped")


def add(
    session: Session,
    ctx: IncidentContext,
    incident_id: int,
    *,
    actor: str,
    text: str,
    owner: str = "",
    due: datetime | None = None,
) -> ActionItemRow:
    """Add an open action item to the incident."""
    if not text.strip():
        raise UsageError("an action item needs a text")
    incident = service.get(session, incident_id)
    now = ctx.clock.now()
    item = ActionItemRow(
        incident_id=incident.id,
        text=text.strip(),
        owner=owner,
        due=due,
        status="open",
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    service.add_event(
        session,
        ctx,
        incident,
        EventKind.ACTION_ITEM,
        actor=actor,
        text=f"Action item #{item.id}: {item.text}",
        data={
            "item": item.id,
            "owner": owner,
            "due": due.isoformat() if due else None,
            "status": "open",
        },
    )
    return item


def get(session: Session, item_id: int, *, incident_id: int | None = None) -> ActionItemRow:
    """Action item `item_id`; with `incident_id`, only if it belongs to that incident."""
    item = session.get(ActionItemRow, item_id)
    if item is None or (incident_id is not None and item.incident_id != incident_id):
        where = f"incident {incident_id} has" if incident_id is not None else "there is"
        raise NotFoundError(f"{where} no action item {item_id}")
    return item


def update(
    session: Session,
    ctx: IncidentContext,
    item_id: int,
    *,
    actor: str,
    incident_id: int | None = None,
    status: str | None = None,
    owner: str | None = None,
    due: datetime | None = None,
) -> ActionItemRow:
    """Change an item's status (open, done, dropped), owner or due date."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown action item status {status!r} (one of: {', '.join(STATUSES)})")
    item = get(session, item_id, incident_id=incident_id)
    item.status = status or item.status
    item.owner = owner if owner is not None else item.owner
    item.due = due or item.due
    item.updated_at = ctx.clock.now()
    incident = service.get(session, item.incident_id)
    service.add_event(
        session,
        ctx,
        incident,
        EventKind.ACTION_ITEM,
        actor=actor,
        text=f"Action item #{item.id} is {item.status}"
        + (f" (owner {item.owner})" if item.owner else ""),
        data={"item": item.id, "owner": item.owner, "status": item.status},
    )
    return item


def listed(session: Session, incident_id: int) -> Sequence[ActionItemRow]:
    """The incident's action items, oldest first."""
    return session.scalars(
        select(ActionItemRow)
        .where(ActionItemRow.incident_id == incident_id)
        .order_by(ActionItemRow.id)
    ).all()
