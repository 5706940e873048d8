"""The versioned JSON of incidents, shared by `opsbook incident ... --json` and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsbook.incidents.model import ALERT_LINKS
from opsbook.incidents.policy import Policy
from opsbook.incidents.service import response_missed
from opsbook.incidents.tables import ActionItemRow, IncidentEventRow, IncidentLinkRow, IncidentRow


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def incident_summary(incident: IncidentRow, policy: Policy, now: datetime) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "commander": incident.commander,
        "detected_at": incident.detected_at,
        "acknowledged_at": incident.acknowledged_at,
        "resolved_at": incident.resolved_at,
        "response_missed": response_missed(incident, policy, now),
        "escalation_level": incident.escalation_level,
    }


def incident_detail(
    incident: IncidentRow,
    policy: Policy,
    now: datetime,
    *,
    events: list[IncidentEventRow],
    links: list[IncidentLinkRow],
    actions: list[ActionItemRow],
) -> dict[str, Any]:
    return incident_summary(incident, policy, now) | {
        "impact": incident.impact,
        "components": incident.components,
        "participants": incident.participants,
        "runbook": incident.runbook,
        "group_key": incident.group_key,
        "public": incident.public,
        "root_cause": incident.root_cause,
        "resolution": incident.resolution,
        "opened_by": incident.opened_by,
        "acknowledged_by": incident.acknowledged_by,
        "mitigated_at": incident.mitigated_at,
        "closed_at": incident.closed_at,
        "time_to_acknowledge_seconds": _seconds(incident.detected_at, incident.acknowledged_at),
        "time_to_mitigate_seconds": _seconds(incident.detected_at, incident.mitigated_at),
        "time_to_resolve_seconds": _seconds(incident.detected_at, incident.resolved_at),
        "next_escalation_at": incident.next_escalation_at,
        "next_update_due_at": incident.next_update_due_at,
        "ladder": incident.ladder,
        "timeline": [event_json(e) for e in events],
        "alerts": [link_json(link) for link in links if link.kind in ALERT_LINKS],
        "runs": [link_json(link) for link in links if link.kind == "run"],
        "action_items": [action_json(a) for a in actions],
    }


def event_json(event: IncidentEventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "kind": event.kind,
        "text": event.text,
        "public": event.public,
        "data": event.data,
    }


def link_json(link: IncidentLinkRow) -> dict[str, Any]:
    return {
        "ref": link.ref,
        "source": "alertmanager" if link.kind == "external" else "opsbook",
        "label": link.label,
        "active": link.active,
        "linked_at": link.linked_at,
    }


def action_json(item: ActionItemRow) -> dict[str, Any]:
    return {
        "id": item.id,
        "text": item.text,
        "owner": item.owner,
        "due": item.due,
        "status": item.status,
    }
