"""Alerts open, join and calm incidents.

The incident loop follows the alert transitions from a stored cursor. A firing alert whose
severity maps to the policy at a level in `incidents.open_from_alerts` opens an incident, or
joins the open incident of the same alert group; each linked alert's transitions go on the
timeline; when every alert of an incident has resolved, the incident moves to monitoring (never
to resolved or closed by itself); a new alert firing into a monitoring incident sends it back
to investigating.

Alerts that Alertmanager sends (`opsbook.inbox`) take the same path through `follow_external`
when their status changes: an existing Prometheus opens and calms incidents as opsbook's own
rules do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.alerts.queries import transitions_since
from opsbook.alerts.rules import Rule
from opsbook.alerts.tables import AlertRow, AlertTransitionRow
from opsbook.inbox.tables import ExternalAlert
from opsbook.incidents import service, timeline
from opsbook.incidents.model import ALERT_LINKS, OPEN, EventKind, Status
from opsbook.incidents.service import IncidentContext
from opsbook.incidents.tables import IncidentCursorRow, IncidentLinkRow, IncidentRow

CURSOR = "alert_transitions"
ACTOR = "opsbook"


@dataclass(frozen=True)
class RuleInfo:
    """What an incident takes from the rule that fired: a title and the runbook link."""

    title: str
    runbook: str

    @classmethod
    def of(cls, rule: Rule) -> RuleInfo:
        summary = rule.annotations.get("summary") or rule.message
        return cls(title=f"{rule.name}: {summary}" if summary else rule.name, runbook=rule.runbook)


def follow_alerts(
    session: Session, ctx: IncidentContext, rules: Mapping[str, RuleInfo], *, limit: int = 500
) -> list[int]:
    """Apply the alert transitions written since the last pass; returns incidents touched.

    The cursor row is locked for the pass (other nodes skip it), so each transition is applied
    once, in the same transaction that moves the cursor.
    """
    cursor = session.scalars(
        select(IncidentCursorRow)
        .where(IncidentCursorRow.name == CURSOR)
        .with_for_update(skip_locked=True)
    ).first()
    if cursor is None:
        if session.get(IncidentCursorRow, CURSOR) is not None:
            return []  # another node holds it
        cursor = IncidentCursorRow(name=CURSOR, position=0)
        session.add(cursor)
        session.flush()
    touched: list[int] = []
    for transition in transitions_since(session, cursor.position, limit):
        incident_id = _apply(session, ctx, rules, transition)
        if incident_id is not None and incident_id not in touched:
            touched.append(incident_id)
        cursor.position = transition.id
    session.flush()
    return touched


def _apply(
    session: Session,
    ctx: IncidentContext,
    rules: Mapping[str, RuleInfo],
    transition: AlertTransitionRow,
) -> int | None:
    if transition.to_state == "firing":
        return _firing(session, ctx, rules, transition)
    if transition.to_state == "resolved":
        return _resolved(session, ctx, transition)
    return None


def _label(transition: AlertTransitionRow) -> str:
    labels = {k: v for k, v in transition.labels.items() if k not in {"alertname", "severity"}}
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{transition.rule}{{{inner}}}" if inner else transition.rule


@dataclass(frozen=True)
class Firing:
    """An alert that started firing, from either source."""

    kind: str  # a member of ALERT_LINKS
    ref: str
    label: str
    severity: str
    group: str
    title: str
    runbook: str
    at: datetime
    value: float | None = None


def _firing(
    session: Session,
    ctx: IncidentContext,
    rules: Mapping[str, RuleInfo],
    transition: AlertTransitionRow,
) -> int | None:
    alert = session.get(AlertRow, transition.alert_id)
    info = rules.get(transition.rule) or RuleInfo(title=transition.rule, runbook="")
    firing = Firing(
        kind="alert",
        ref=str(transition.alert_id),
        label=_label(transition),
        severity=str(transition.labels.get("severity", "")),
        group=f"alerts:{alert.group_key}" if alert is not None else f"alerts:{transition.rule}",
        title=info.title,
        runbook=info.runbook,
        at=transition.at,
        value=transition.value,
    )
    return _open_or_join(session, ctx, firing, data={"alert": transition.alert_id})


def _open_or_join(
    session: Session, ctx: IncidentContext, firing: Firing, *, data: dict[str, Any]
) -> int | None:
    incident = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.group_key == firing.group, IncidentRow.status.in_([s.value for s in OPEN])
        )
        .order_by(IncidentRow.id.desc())
        .limit(1)
    ).first()
    if incident is None:
        level = ctx.policy.map_alert_severity(firing.severity)
        if level is None or not ctx.policy.opens_incident(level):
            return None
        incident = service.open_incident(
            session,
            ctx,
            title=firing.title,
            severity=level,
            actor=ACTOR,
            group_key=firing.group,
            runbook=firing.runbook,
            detected_at=firing.at,
        )
    elif incident.status == Status.MONITORING.value:
        service.change_status(
            session,
            ctx,
            incident.id,
            Status.INVESTIGATING,
            actor=ACTOR,
            message=f"{firing.label} fired again",
        )
    link, _ = service.link(
        session, ctx, incident, kind=firing.kind, ref=firing.ref, label=firing.label
    )
    link.active = True
    service.add_event(
        session,
        ctx,
        incident,
        EventKind.ALERT,
        actor=ACTOR,
        text=f"{firing.label} firing"
        + (f" (value {firing.value:g})" if firing.value is not None else ""),
        data={**data, "state": "firing", "value": firing.value},
    )
    return incident.id


def _resolved(session: Session, ctx: IncidentContext, transition: AlertTransitionRow) -> int | None:
    return _calm(
        session,
        ctx,
        kind="alert",
        ref=str(transition.alert_id),
        data={"alert": transition.alert_id, "value": transition.value},
    )


def _calm(
    session: Session, ctx: IncidentContext, *, kind: str, ref: str, data: dict[str, Any]
) -> int | None:
    link = session.scalars(
        select(IncidentLinkRow)
        .where(IncidentLinkRow.kind == kind, IncidentLinkRow.ref == ref)
        .order_by(IncidentLinkRow.id.desc())
        .limit(1)
    ).first()
    if link is None:
        return None
    link.active = False
    incident = service.get(session, link.incident_id, lock=True)
    service.add_event(
        session,
        ctx,
        incident,
        EventKind.ALERT,
        actor=ACTOR,
        text=f"{link.label} resolved",
        data={**data, "state": "resolved"},
    )
    session.flush()
    still_firing = [
        x for x in timeline.links(session, incident.id) if x.kind in ALERT_LINKS and x.active
    ]
    calm = incident.status in {
        Status.INVESTIGATING.value,
        Status.IDENTIFIED.value,
        Status.MITIGATING.value,
    }
    if not still_firing and calm:
        service.change_status(
            session,
            ctx,
            incident.id,
            Status.MONITORING,
            actor=ACTOR,
            message="every linked alert has resolved",
        )
    return incident.id


def follow_external(session: Session, ctx: IncidentContext, alert: ExternalAlert) -> int | None:
    """Apply an Alertmanager alert whose status just changed; returns the incident touched.

    Alerts of one name join one open incident, whatever their other labels; the severity label
    maps through the policy as opsbook's own alerts do, and the runbook comes from the
    `runbook_url` or `runbook` annotation.
    """
    data = {"source": alert.source, "fingerprint": alert.fingerprint}
    if alert.status == "resolved":
        return _calm(session, ctx, kind="external", ref=alert.fingerprint, data=data)
    inner = ", ".join(
        f'{k}="{v}"' for k, v in sorted(alert.labels.items()) if k not in {"alertname", "severity"}
    )
    annotations = alert.annotations
    firing = Firing(
        kind="external",
        ref=alert.fingerprint,
        label=f"{alert.name}{{{inner}}}" if inner else alert.name,
        severity=alert.severity,
        group=f"{alert.source}:{alert.name}",
        title=f"{alert.name}: {alert.summary}" if alert.summary else alert.name,
        runbook=str(annotations.get("runbook_url") or annotations.get("runbook") or ""),
        at=alert.starts_at or alert.last_received_at,
    )
    return _open_or_join(session, ctx, firing, data=data)


def rule_infos(rules: list[Rule]) -> dict[str, RuleInfo]:
    return {rule.name: RuleInfo.of(rule) for rule in rules}
