"""Alerts open, join and calm incidents.

The incident loop follows the alert transitions from a stored cursor. A firing alert whose
severity maps to the policy at a level in `incidents.open_from_alerts` opens an incident, or
joins the open incident of the same alert group; each linked alert's transitions go on the
timeline; when every alert of an incident has resolved, the incident moves to monitoring (never
to resolved or closed by itself); a new alert firing into a monitoring incident sends it back
to investigating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.alerts.queries import transitions_since
from opsbook.alerts.rules import Rule
from opsbook.alerts.tables import AlertRow, AlertTransitionRow
from opsbook.incidents import service
from opsbook.incidents.model import OPEN, EventKind, Status
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


def _firing(
    session: Session,
    ctx: IncidentContext,
    rules: Mapping[str, RuleInfo],
    transition: AlertTransitionRow,
) -> int | None:
    level = ctx.policy.map_alert_severity(str(transition.labels.get("severity", "")))
    alert = session.get(AlertRow, transition.alert_id)
    group = f"alerts:{alert.group_key}" if alert is not None else f"alerts:{transition.rule}"
    incident = session.scalars(
        select(IncidentRow)
        .where(IncidentRow.group_key == group, IncidentRow.status.in_([s.value for s in OPEN]))
        .order_by(IncidentRow.id.desc())
        .limit(1)
    ).first()
    if incident is None:
        if level is None or not ctx.policy.opens_incident(level):
            return None
        info = rules.get(transition.rule) or RuleInfo(title=transition.rule, runbook="")
        incident = service.open_incident(
            session,
            ctx,
            title=info.title,
            severity=level,
            actor=ACTOR,
            group_key=group,
            runbook=info.runbook,
            detected_at=transition.at,
        )
    elif incident.status == Status.MONITORING.value:
        service.change_status(
            session,
            ctx,
            incident.id,
            Status.INVESTIGATING,
            actor=ACTOR,
            message=f"{_label(transition)} fired again",
        )
    label = _label(transition)
    service.link(session, ctx, incident, kind="alert", ref=str(transition.alert_id), label=label)
    service.add_event(
        session,
        ctx,
        incident,
        EventKind.ALERT,
        actor=ACTOR,
        text=f"{label} firing"
        + (f" (value {transition.value:g})" if transition.value is not None else ""),
        data={"alert": transition.alert_id, "state": "firing", "value": transition.value},
    )
    return incident.id


def _resolved(session: Session, ctx: IncidentContext, transition: AlertTransitionRow) -> int | None:
    link = session.scalars(
        select(IncidentLinkRow)
        .where(IncidentLinkRow.kind == "alert", IncidentLinkRow.ref == str(transition.alert_id))
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
        data={"alert": transition.alert_id, "state": "resolved", "value": transition.value},
    )
    session.flush()
    still_firing = [x for x in service.links(session, incident.id, "alert") if x.active]
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


def rule_infos(rules: list[Rule]) -> dict[str, RuleInfo]:
    return {rule.name: RuleInfo.of(rule) for rule in rules}
