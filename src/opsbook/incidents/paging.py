"""Paging the ladder and reminding about overdue updates: the work the incident loop does.

Both scan for rows whose stored due time has passed, claim them (row locks that other nodes skip),
do the work and move the due time on, all in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.incidents import comms
from opsbook.incidents.escalation import due_rungs, next_due
from opsbook.incidents.model import OPEN, EventKind
from opsbook.incidents.service import IncidentContext, add_event, ladder_of
from opsbook.incidents.tables import IncidentRow

BATCH = 100


def escalate_due(session: Session, ctx: IncidentContext) -> list[tuple[int, int]]:
    """Page every ladder level that has come due; returns (incident id, level) pairs paged."""
    now = ctx.clock.now()
    due = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.next_escalation_at <= now,
            IncidentRow.acknowledged_at.is_(None),
            IncidentRow.status.in_([s.value for s in OPEN]),
        )
        .order_by(IncidentRow.next_escalation_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    paged: list[tuple[int, int]] = []
    for incident in due:
        ladder = ladder_of(incident)
        for rung in due_rungs(ladder, incident.detected_at, incident.escalation_level, now):
            _page(session, ctx, incident, level=rung.level, target=rung.target, now=now)
            incident.escalation_level = rung.level
            paged.append((incident.id, rung.level))
        incident.next_escalation_at = next_due(
            ladder, incident.detected_at, incident.escalation_level
        )
    session.flush()
    return paged


def _page(
    session: Session,
    ctx: IncidentContext,
    incident: IncidentRow,
    *,
    level: int,
    target: str,
    now: datetime,
) -> None:
    who = ctx.policy.resolve_target(target, now)
    key = f"incident:{incident.id}:L{level}"
    body = (
        f"L{level} page for incident {incident.id} ({incident.severity}): {incident.title}\n"
        f"Paging: {who.description}\nStatus: {incident.status}"
        + (f"\nRunbook: {incident.runbook}" if incident.runbook else "")
        + (f"\n{ctx.link(incident.id)}" if ctx.base_url else "")
    )
    queued = comms.send(
        session,
        ctx.clock,
        channel_set=ctx.channels,
        channels=who.channels,
        key=key,
        event="trigger",
        title=f"[{incident.severity}] {incident.title}",
        body=body,
        severity=incident.severity,
        url=ctx.link(incident.id),
        data={"incident": incident.id, "level": level, "target": who.description},
    )
    add_event(
        session,
        ctx,
        incident,
        EventKind.ESCALATED,
        actor="opsbook",
        text=f"L{level} paged: {who.description}"
        + ("" if queued else " (no channel reaches this target)"),
        data={
            "level": level,
            "target": target,
            "person": who.person,
            "channels": queued,
            "page": key,  # not "key": secret-looking names are masked
        },
    )


def remind_due(session: Session, ctx: IncidentContext) -> list[int]:
    """Remind the commander (through the incident channels) when an update is overdue."""
    now = ctx.clock.now()
    grace = timedelta(seconds=ctx.policy.config.reminder_grace)
    due = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.next_update_due_at <= now - grace,
            IncidentRow.status.in_([s.value for s in OPEN]),
        )
        .order_by(IncidentRow.next_update_due_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    reminded = []
    for incident in due:
        assert incident.next_update_due_at is not None
        due_at = incident.next_update_due_at
        last = incident.last_update_at or incident.detected_at
        text = (
            f"Update overdue for incident {incident.id} ({incident.severity}): {incident.title}. "
            f"Last update {last:%Y-%m-%d %H:%M} UTC; "
            f"commander: {incident.commander or 'unassigned'}."
        )
        queued = comms.send(
            session,
            ctx.clock,
            channel_set=ctx.channels,
            channels=tuple(ctx.policy.config.channels),
            key=f"incident:{incident.id}",
            occurrence=f"reminder:{due_at.isoformat()}",
            event="reminder",
            title=f"Update overdue: {incident.title}",
            body=text,
            severity=incident.severity,
            url=ctx.link(incident.id),
            data={"incident": incident.id},
        )
        add_event(
            session,
            ctx,
            incident,
            EventKind.REMINDER,
            actor="opsbook",
            text=text,
            data={"channels": queued},
        )
        every = due_at - last
        incident.next_update_due_at = now + max(every, timedelta(minutes=1))
        reminded.append(incident.id)
    session.flush()
    return reminded
