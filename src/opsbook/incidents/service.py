"""Operations on incidents. Each takes a Session and flushes; the caller commits once.

Every change adds a timeline entry and an audit-journal entry in the same transaction, and every
message goes through the notification outbox in that transaction too, so a crash leaves either
all of it or none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.errors import ConflictError, NotFoundError, UsageError
from opsbook.incidents import comms, timeline
from opsbook.incidents.escalation import Rung, next_due
from opsbook.incidents.model import OPEN, EventKind, Status, check_transition, is_open
from opsbook.incidents.policy import Policy, load_policy
from opsbook.incidents.tables import IncidentEventRow, IncidentLinkRow, IncidentRow
from opsbook.journal import service as journal
from opsbook.notify.destinations import ChannelSet
from opsbook.secrets import Redactor
from opsbook.storage.wakeup import announce

TOPIC = "incidents"
"""Announced with every incident event: the incident loop of every node wakes on it."""


@dataclass
class IncidentContext:
    """What incident operations need besides the session."""

    clock: Clock
    policy: Policy
    redactor: Redactor = field(default_factory=Redactor)
    base_url: str = ""  # where the server is reachable, for links in messages
    channels: ChannelSet | None = None  # the configured channels; None: the process's own

    @classmethod
    def from_config(cls, config: Config, clock: Clock, *, base_url: str = "") -> IncidentContext:
        """The context for `config`, its channel references checked (file:line errors)."""
        channels = ChannelSet.from_config(config)
        return cls(
            clock=clock,
            policy=load_policy(config),
            redactor=config.redactor,
            base_url=base_url,
            channels=channels,
        )

    def link(self, incident_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/incidents/{incident_id}" if self.base_url else ""


def get(session: Session, incident_id: int, *, lock: bool = False) -> IncidentRow:
    incident = session.get(IncidentRow, incident_id, with_for_update=lock)
    if incident is None:
        raise NotFoundError(f"no incident {incident_id}")
    return incident


def list_incidents(
    session: Session, *, open_only: bool = False, limit: int = 100
) -> Sequence[IncidentRow]:
    query = select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)
    if open_only:
        query = query.where(IncidentRow.status.in_([s.value for s in OPEN]))
    return session.scalars(query).all()


def add_event(
    session: Session,
    ctx: IncidentContext,
    incident: IncidentRow,
    kind: EventKind,
    *,
    actor: str,
    text: str = "",
    public: bool = False,
    data: dict[str, Any] | None = None,
) -> IncidentEventRow:
    event = IncidentEventRow(
        incident_id=incident.id,
        at=ctx.clock.now(),
        actor=actor,
        kind=kind.value,
        text=ctx.redactor.redact(text),
        public=public,
        data=ctx.redactor.redact_data(data or {}),
    )
    session.add(event)
    announce(session, TOPIC)  # every node looks again at once (an ack stops a page, ...)
    journal.record(
        session,
        ctx.clock,
        actor=actor,
        action=f"incident.{kind.value}",
        subject=journal.Subject("incident", str(incident.id)),
        summary=text,
        details=data or {},
        redactor=ctx.redactor,
    )
    session.flush()
    return event


def open_incident(
    session: Session,
    ctx: IncidentContext,
    *,
    title: str,
    severity: str,
    actor: str,
    impact: str = "",
    components: Sequence[str] = (),
    commander: str | None = None,
    group_key: str | None = None,
    runbook: str = "",
    public: bool = False,
    detected_at: datetime | None = None,
) -> IncidentRow:
    """Open an incident, copy the ladder in force onto it and send the initial message."""
    if not title.strip():
        raise UsageError("an incident needs a title")
    level = ctx.policy.severity(severity).level
    now = ctx.clock.now()
    detected = detected_at or now
    ladder = ctx.policy.ladder()
    incident = IncidentRow(
        title=title.strip(),
        severity=level,
        status=Status.INVESTIGATING.value,
        commander=commander,
        impact=impact,
        components=list(components),
        participants=[commander] if commander else [],
        runbook=runbook,
        group_key=group_key,
        public=public,
        opened_by=actor,
        detected_at=detected,
        ladder=[r.as_dict() for r in ladder],
        escalation_level=0,
        next_escalation_at=next_due(ladder, detected, 0),
        last_update_at=now,
        next_update_due_at=_next_update(ctx, level, now),
    )
    session.add(incident)
    session.flush()
    add_event(
        session,
        ctx,
        incident,
        EventKind.OPENED,
        actor=actor,
        text=f"Opened at {level}: {title}",
        public=public,
        data={"severity": level, "group_key": group_key, "runbook": runbook},
    )
    _announce(session, ctx, incident, "initial", key_suffix="opened", actor=actor)
    return incident


def change_status(
    session: Session,
    ctx: IncidentContext,
    incident_id: int,
    status: Status,
    *,
    actor: str,
    message: str = "",
) -> IncidentRow:
    """Move the incident to `status` (resolve and close have their own operations)."""
    if status in (Status.RESOLVED, Status.CLOSED):
        verb = "resolve" if status is Status.RESOLVED else "close"
        raise UsageError(f"use `{verb}` to make an incident {status}")
    incident = get(session, incident_id, lock=True)
    _move(session, ctx, incident, status, actor=actor, message=message)
    return incident


def post_update(
    session: Session,
    ctx: IncidentContext,
    incident_id: int,
    *,
    actor: str,
    message: str,
    status: Status | None = None,
    impact: str | None = None,
    eta: str | None = None,
    public: bool = False,
) -> IncidentRow:
    """A responder's update: optional status and impact change, then the update template sent."""
    incident = get(session, incident_id, lock=True)
    if not is_open(incident.status) and status is None:
        raise ConflictError(
            f"incident {incident_id} is {incident.status}; reopen it to post updates"
        )
    if status is not None and status != Status(incident.status):
        if status in (Status.RESOLVED, Status.CLOSED):
            raise UsageError(
                f"use `{'resolve' if status is Status.RESOLVED else 'close'}` for that"
            )
        _move(session, ctx, incident, status, actor=actor)
    if impact is not None:
        incident.impact = impact
    now = ctx.clock.now()
    incident.last_update_at = now
    incident.next_update_due_at = _next_update(ctx, incident.severity, now)
    event = add_event(
        session,
        ctx,
        incident,
        EventKind.UPDATE,
        actor=actor,
        text=message,
        public=public,
        data={"status": incident.status, "impact": incident.impact, "eta": eta},
    )
    _announce(
        session,
        ctx,
        incident,
        "update",
        key_suffix=f"update:{event.id}",
        actor=actor,
        progress=message,
        eta=eta or "",
    )
    return incident


def acknowledge(
    session: Session, ctx: IncidentContext, incident_id: int, *, actor: str
) -> IncidentRow:
    """Acknowledgement stops the climb up the ladder."""
    incident = get(session, incident_id, lock=True)
    if incident.acknowledged_at is not None:
        raise ConflictError(
            f"incident {incident_id} was already acknowledged by {incident.acknowledged_by}"
        )
    if not is_open(incident.status):
        raise ConflictError(f"incident {incident_id} is {incident.status}")
    incident.acknowledged_at = ctx.clock.now()
    incident.acknowledged_by = actor
    incident.next_escalation_at = None
    if actor not in incident.participants:
        incident.participants = [*incident.participants, actor]
    add_event(
        session, ctx, incident, EventKind.ACKNOWLEDGED, actor=actor, text=f"Acknowledged by {actor}"
    )
    return incident


def assign(
    session: Session, ctx: IncidentContext, incident_id: int, *, commander: str, actor: str
) -> IncidentRow:
    incident = get(session, incident_id, lock=True)
    previous = incident.commander
    incident.commander = commander
    if commander not in incident.participants:
        incident.participants = [*incident.participants, commander]
    add_event(
        session,
        ctx,
        incident,
        EventKind.COMMANDER,
        actor=actor,
        text=f"Commander: {commander}",
        data={"previous": previous, "commander": commander},
    )
    return incident


def set_severity(
    session: Session, ctx: IncidentContext, incident_id: int, *, severity: str, actor: str
) -> IncidentRow:
    incident = get(session, incident_id, lock=True)
    level = ctx.policy.severity(severity).level
    if level == incident.severity:
        raise ConflictError(f"incident {incident_id} is already {level}")
    previous, incident.severity = incident.severity, level
    if incident.next_update_due_at is not None and incident.last_update_at is not None:
        incident.next_update_due_at = _next_update(ctx, level, incident.last_update_at)
    add_event(
        session,
        ctx,
        incident,
        EventKind.SEVERITY,
        actor=actor,
        text=f"Severity {previous} -> {level}",
        data={"previous": previous, "severity": level},
    )
    return incident


def resolve(
    session: Session,
    ctx: IncidentContext,
    incident_id: int,
    *,
    actor: str,
    root_cause: str = "",
    resolution: str = "",
    message: str = "",
) -> IncidentRow:
    """Resolve: stop escalation and reminders, send the resolution message."""
    incident = get(session, incident_id, lock=True)
    if root_cause:
        incident.root_cause = root_cause
    if resolution:
        incident.resolution = resolution
    _move(session, ctx, incident, Status.RESOLVED, actor=actor, message=message)
    resolves = sum(
        1
        for _ in timeline.events(session, incident.id, kind=EventKind.STATUS)
        if _.data.get("to") == "resolved"
    )
    _announce(
        session,
        ctx,
        incident,
        "resolution",
        key_suffix=f"resolved:{resolves}",
        actor=actor,
    )
    _resolve_pages(session, ctx, incident)
    return incident


def close(session: Session, ctx: IncidentContext, incident_id: int, *, actor: str) -> IncidentRow:
    incident = get(session, incident_id, lock=True)
    _move(session, ctx, incident, Status.CLOSED, actor=actor)
    return incident


def add_note(
    session: Session, ctx: IncidentContext, incident_id: int, *, actor: str, text: str
) -> IncidentEventRow:
    incident = get(session, incident_id)
    return add_event(session, ctx, incident, EventKind.NOTE, actor=actor, text=text)


def link(
    session: Session,
    ctx: IncidentContext,
    incident: IncidentRow,
    *,
    kind: str,
    ref: str,
    label: str = "",
) -> tuple[IncidentLinkRow, bool]:
    """Attach an alert or run; returns the link and whether it is new."""
    existing = session.scalars(
        select(IncidentLinkRow).where(
            IncidentLinkRow.incident_id == incident.id,
            IncidentLinkRow.kind == kind,
            IncidentLinkRow.ref == ref,
        )
    ).first()
    if existing is not None:
        return existing, False
    row = IncidentLinkRow(
        incident_id=incident.id,
        kind=kind,
        ref=ref,
        label=label,
        active=True,
        linked_at=ctx.clock.now(),
    )
    session.add(row)
    session.flush()
    return row, True


def response_missed(incident: IncidentRow, policy: Policy, now: datetime) -> bool:
    """True when the severity's response target passed before (or without) acknowledgement."""
    try:
        target = policy.severity(incident.severity).response
    except UsageError:
        return False
    if target is None:
        return False
    deadline = incident.detected_at + timedelta(seconds=target)
    return (incident.acknowledged_at or now) > deadline


def ladder_of(incident: IncidentRow) -> tuple[Rung, ...]:
    return tuple(Rung.from_dict(r) for r in incident.ladder)


# -- internals ---------------------------------------------------------------------------------


def _move(
    session: Session,
    ctx: IncidentContext,
    incident: IncidentRow,
    status: Status,
    *,
    actor: str,
    message: str = "",
) -> None:
    current = Status(incident.status)
    check_transition(current, status)
    now = ctx.clock.now()
    incident.status = status.value
    if status is Status.MONITORING and incident.mitigated_at is None:
        incident.mitigated_at = now
    if status is Status.RESOLVED:
        incident.resolved_at = now
        incident.next_escalation_at = None
        incident.next_update_due_at = None
        incident.mitigated_at = incident.mitigated_at or now
    if status is Status.CLOSED:
        incident.closed_at = now
    if current is Status.RESOLVED and status is Status.INVESTIGATING:
        incident.resolved_at = None
        incident.next_update_due_at = _next_update(ctx, incident.severity, now)
    text = f"Status {current} -> {status}" + (f": {message}" if message else "")
    add_event(
        session,
        ctx,
        incident,
        EventKind.STATUS,
        actor=actor,
        text=text,
        public=incident.public,
        data={"from": current.value, "to": status.value},
    )


def _next_update(ctx: IncidentContext, level: str, since: datetime) -> datetime | None:
    try:
        every = ctx.policy.severity(level).update_every
    except UsageError:
        return None
    return since + timedelta(seconds=every) if every else None


def _announce(
    session: Session,
    ctx: IncidentContext,
    incident: IncidentRow,
    template: str,
    *,
    key_suffix: str,
    actor: str,
    event: str = "message",
    **extra: Any,
) -> None:
    channels = tuple(ctx.policy.config.channels)
    if not channels:
        return
    text = getattr(ctx.policy.config.templates, template)
    body = comms.render(
        text, comms.fields(incident, ctx.clock.now(), url=ctx.link(incident.id), **extra)
    )
    title = body.splitlines()[0] if body else incident.title
    queued = comms.send(
        session,
        ctx.clock,
        channel_set=ctx.channels,
        channels=channels,
        key=f"incident:{incident.id}",
        occurrence=key_suffix,
        event=event,
        title=title,
        body=body,
        severity=incident.severity,
        url=ctx.link(incident.id),
        data={"incident": incident.id, "template": template},
    )
    if queued:
        add_event(
            session,
            ctx,
            incident,
            EventKind.MESSAGE,
            actor=actor,
            text=body,
            public=False,
            data={"template": template, "channels": queued},
        )


def _resolve_pages(session: Session, ctx: IncidentContext, incident: IncidentRow) -> None:
    """Tell every channel that was paged that the page is resolved (PagerDuty closes it)."""
    for event in timeline.events(session, incident.id, kind=EventKind.ESCALATED):
        key = event.data.get("page")
        channels = event.data.get("channels", [])
        if key and channels:
            comms.send(
                session,
                ctx.clock,
                channel_set=ctx.channels,
                channels=channels,
                key=key,
                event="resolve",
                title=f"RESOLVED: {incident.title}",
                body=f"Incident {incident.id} resolved",
                severity=incident.severity,
                url=ctx.link(incident.id),
                data={"incident": incident.id},
            )
