"""The text of a group's notification, and the identity the outbox de-duplicates it by.

Every message of one episode of a group (its trigger, updates, reminders and resolve) has one
key, which PagerDuty destinations use as the Events v2 `dedup_key`; a new episode gets a new
key. Updates and reminders are `reminder` events told apart by their `occurrence` (the
message's number in the episode), so each is sent once. The channel's templates add the
`[FIRING]` / `[RESOLVED]` tag and the runbook link (docs/notifications.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsbook.alerts.grouping import Kind
from opsbook.alerts.language.units import format_value
from opsbook.alerts.rules import Rule
from opsbook.alerts.tables import AlertRow
from opsbook.alerts.templates import Context, render

_HIDDEN_LABELS = {"alertname", "severity"}


@dataclass(frozen=True)
class Message:
    key: str
    event: str  # trigger, resolve or reminder (the outbox's events)
    occurrence: str  # tells the reminders of one key apart
    title: str
    body: str
    severity: str
    url: str
    data: dict[str, Any]


def episode_key(group_id: int, episode: int) -> str:
    return f"alert-group/{group_id}/{episode}"


def build_message(
    rule: Rule,
    kind: Kind,
    *,
    group_id: int,
    episode: int,
    sequence: int,
    firing: list[AlertRow],
    resolved: list[AlertRow],
    now: datetime,
) -> Message:
    key = episode_key(group_id, episode)
    reminder = kind in (Kind.UPDATE, Kind.REMINDER)
    return Message(
        key=key,
        event="reminder" if reminder else kind.value,
        occurrence=str(sequence) if reminder else "",
        title=_title(rule, kind, firing, resolved),
        body=_body(rule, firing, resolved, now),
        severity=rule.severity,
        url=rule.runbook,
        data={
            "rule": rule.name,
            "kind": kind.value,
            "dedup_key": key,
            "group_id": group_id,
            "episode": episode,
            "runbook": rule.runbook,
            "firing": [_alert_data(rule, a) for a in firing],
            "resolved": [_alert_data(rule, a) for a in resolved],
        },
    )


def _title(rule: Rule, kind: Kind, firing: list[AlertRow], resolved: list[AlertRow]) -> str:
    shown = firing if kind is not Kind.RESOLVE else resolved
    if len(shown) == 1:
        text = rule.message or rule.annotations.get("summary", "")
        if text:
            row = shown[0]
            labels = {k: str(v) for k, v in row.labels.items()}
            return f"{rule.name}: {render(text, Context(row.value, rule.compiled.unit, labels))}"
        return rule.name
    if kind is Kind.RESOLVE:
        return f"{rule.name} ({len(shown)} alerts)"
    return f"{rule.name} ({len(shown)} firing)"


def describe_alert(rule: Rule, alert: AlertRow) -> str:
    """One line for one alert: its message (or summary, or condition) and its labels."""
    labels = {k: str(v) for k, v in alert.labels.items()}
    context = Context(alert.value, rule.compiled.unit, labels)
    text = rule.message or rule.annotations.get("summary", "") or rule.condition
    shown = ", ".join(f"{k}={v}" for k, v in labels.items() if k not in _HIDDEN_LABELS)
    value = format_value(alert.value, rule.compiled.unit)
    return f"{render(text, context)} (value {value}{'; ' + shown if shown else ''})"


def _body(rule: Rule, firing: list[AlertRow], resolved: list[AlertRow], now: datetime) -> str:
    lines: list[str] = []
    if firing:
        lines.append(f"Firing ({len(firing)}):")
        lines += [f"- {describe_alert(rule, a)}, since {_since(a, now)}" for a in firing]
    if resolved:
        lines.append(f"Resolved ({len(resolved)}):")
        lines += [f"- {describe_alert(rule, a)}" for a in resolved]
    description = rule.annotations.get("description")
    if description and firing:
        lines.append(render(description, Context(firing[0].value, rule.compiled.unit, {})))
    return "\n".join(lines)


def _since(alert: AlertRow, now: datetime) -> str:
    from opsbook.units import format_duration

    started = alert.fired_at or alert.active_at
    return f"{started:%Y-%m-%d %H:%M:%S} UTC ({format_duration((now - started).total_seconds())})"


def _alert_data(rule: Rule, alert: AlertRow) -> dict[str, Any]:
    labels = {k: str(v) for k, v in alert.labels.items()}
    context = Context(alert.value, rule.compiled.unit, labels)
    return {
        "id": alert.id,
        "labels": labels,
        "value": alert.value,
        "display": format_value(alert.value, rule.compiled.unit),
        "state": alert.state,
        "fired_at": alert.fired_at.isoformat() if alert.fired_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "annotations": {k: render(v, context) for k, v in rule.annotations.items()},
    }
