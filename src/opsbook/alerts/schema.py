"""The versioned JSON of alerts, shared by `--json` and (later) the API. docs/alerts.md
documents every field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsbook.alerts.language.units import format_value
from opsbook.alerts.rules import Rule
from opsbook.alerts.tables import AlertRow, AlertTransitionRow, SilenceRow
from opsbook.alerts.templates import Context, render
from opsbook.alerts.thresholds import ThresholdStatus


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def alert_json(row: AlertRow, rule: Rule | None) -> dict[str, Any]:
    unit = rule.compiled.unit if rule else None
    labels = {k: str(v) for k, v in row.labels.items()}
    return {
        "id": row.id,
        "rule": row.rule,
        "state": row.state,
        "severity": labels.get("severity", ""),
        "labels": labels,
        "value": row.value,
        "display": format_value(row.value, unit),
        "active_at": _iso(row.active_at),
        "fired_at": _iso(row.fired_at),
        "resolved_at": _iso(row.resolved_at),
        "suppressed_by": row.suppressed_by,
        "acked_by": row.acked_by,
        "acked_at": _iso(row.acked_at),
        "notified": row.notified_at is not None,
        "runbook": rule.runbook if rule else "",
    }


def alert_detail_json(
    row: AlertRow, rule: Rule | None, transitions: list[AlertTransitionRow]
) -> dict[str, Any]:
    labels = {k: str(v) for k, v in row.labels.items()}
    context = Context(row.value, rule.compiled.unit if rule else None, labels)
    return {
        **alert_json(row, rule),
        "ack_comment": row.ack_comment,
        "keep_firing_since": _iso(row.keep_firing_since),
        "condition": rule.condition if rule else "",
        "annotations": {
            k: render(v, context) for k, v in (rule.annotations if rule else {}).items()
        },
        "transitions": [transition_json(t) for t in transitions],
    }


def transition_json(row: AlertTransitionRow) -> dict[str, Any]:
    return {
        "from": row.from_state,
        "to": row.to_state,
        "at": _iso(row.at),
        "value": row.value,
        "suppressed_by": row.suppressed_by,
    }


def silence_json(row: SilenceRow, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "matchers": list(row.matchers),
        "starts_at": _iso(row.starts_at),
        "ends_at": _iso(row.ends_at),
        "author": row.author,
        "comment": row.comment,
        "created_at": _iso(row.created_at),
        "ended_by": row.ended_by,
        "active": row.starts_at <= now < row.ends_at,
    }


def rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "condition": rule.condition,
        "dialect": rule.compiled.dialect,
        "for": rule.hold,
        "keep_firing_for": rule.keep_firing_for,
        "severity": rule.severity,
        "channels": list(rule.channels),
        "labels": rule.labels,
        "runbook": rule.runbook,
        "group_by": list(rule.group_by) if rule.group_by is not None else None,
        "source": str(rule.source),
    }


def threshold_json(status: ThresholdStatus) -> dict[str, Any]:
    return {
        "metric": status.metric,
        "labels": status.labels,
        "value": status.value,
        "display": status.display,
        "color": status.color.value,
    }
