"""PagerDuty Events API v2, sent by opsbook over HTTP to a configurable endpoint.

URLs: `pagerduty://ROUTING_KEY`, or Apprise's form `pagerduty://INTEGRATION_KEY@API_KEY/source/
component` (the integration key is the routing key; Events v2 needs no API key). Query
parameters `region` (us, eu), `source`, `component`, `group`, `class` and `severity` (forces the
severity) are honoured. The message's `key` is the Events v2 `dedup_key`: `trigger` and
`reminder` send `event_action: trigger`, `resolve` sends `event_action: resolve`, `test` sends a
trigger and then its resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx

from opsbook.notify.model import Event, Message, Outcome
from opsbook.notify.transports.http import post_json

ENDPOINTS = {
    "us": "https://events.pagerduty.com/v2/enqueue",
    "eu": "https://events.eu.pagerduty.com/v2/enqueue",
}
SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
PD_SEVERITIES = ("critical", "error", "warning", "info")
_SEVERITY_WORDS = {
    "critical": {"critical", "crit", "p1", "sev1", "fatal", "emergency", "disaster", "page"},
    "error": {"error", "err", "p2", "sev2", "high", "major"},
    "warning": {"warning", "warn", "p3", "sev3", "medium", "moderate", "minor"},
    "info": {"info", "informational", "p4", "p5", "sev4", "sev5", "low", "notice", "ok"},
}


@dataclass(frozen=True, slots=True)
class PagerDutyTarget:
    routing_key: str
    other_secrets: frozenset[str] = frozenset()
    region: str = "us"
    source: str = ""
    component: str = ""
    group: str = ""
    event_class: str = ""
    severity: str = ""

    def endpoint(self, configured: str | None) -> str:
        return configured or ENDPOINTS[self.region]


def parse_target(url: str) -> PagerDutyTarget:
    """The routing key and options in a pagerduty:// URL; ValueError without secrets in it."""
    rest = url.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    options = {k.lower(): v for k, v in parse_qsl(query)}
    user, at, host = netloc.rpartition("@")
    routing = options.get("integrationkey") or options.get("routing_key") or unquote(user or host)
    others = frozenset({unquote(host)} if at and host else set())
    if not routing:
        raise ValueError("pagerduty:// needs a routing (integration) key: pagerduty://KEY")
    region = options.get("region", "us").lower()
    if region not in ENDPOINTS:
        raise ValueError(f"pagerduty:// region {region!r} is not one of us, eu")
    severity = options.get("severity", "").lower()
    if severity and severity not in PD_SEVERITIES:
        allowed = ", ".join(PD_SEVERITIES)
        raise ValueError(f"pagerduty:// severity {severity!r} is not one of {allowed}")
    parts = [unquote(p) for p in path.split("/") if p]
    return PagerDutyTarget(
        routing_key=routing,
        other_secrets=others - {routing},
        region=region,
        source=options.get("source") or (parts[0] if parts else ""),
        component=options.get("component") or (parts[1] if len(parts) > 1 else ""),
        group=options.get("group", ""),
        event_class=options.get("class", ""),
        severity=severity,
    )


def pagerduty_severity(severity: str, default: str = "error") -> str:
    """PagerDuty's severity (critical, error, warning, info) for one written as people do."""
    word = severity.strip().lower().replace(" ", "")
    for name, words in _SEVERITY_WORDS.items():
        if word in words:
            return name
    return default


def trigger_event(target: PagerDutyTarget, message: Message) -> dict[str, Any]:
    """The Events v2 trigger for `message` (also used for reminders and tests)."""
    data = message.data
    default = "info" if message.event in {Event.TEST, Event.MESSAGE} else "error"
    payload: dict[str, Any] = {
        "summary": (message.title or message.body)[:SUMMARY_LIMIT],
        "source": target.source or str(data.get("source") or "opsbook"),
        "severity": target.severity or pagerduty_severity(message.severity, default),
        "custom_details": {
            "body": message.body,
            "event": message.event.value,
            **{str(k): v for k, v in (data.get("labels") or {}).items()},
        },
    }
    for field, value in (
        ("component", target.component or data.get("component")),
        ("group", target.group or data.get("group")),
        ("class", target.event_class or data.get("class")),
    ):
        if value:
            payload[field] = str(value)
    event: dict[str, Any] = {
        "routing_key": target.routing_key,
        "event_action": "trigger",
        "dedup_key": message.key[:DEDUP_KEY_LIMIT],
        "payload": payload,
        "client": "opsbook",
    }
    if message.url:
        event["links"] = [{"href": message.url, "text": "Runbook"}]
    return event


def resolve_event(target: PagerDutyTarget, message: Message) -> dict[str, Any]:
    return {
        "routing_key": target.routing_key,
        "event_action": "resolve",
        "dedup_key": message.key[:DEDUP_KEY_LIMIT],
    }


async def send(
    client: httpx.AsyncClient,
    url: str,
    message: Message,
    timeout: float,
    endpoint: str | None = None,
) -> Outcome:
    """Send `message` to the Events v2 endpoint once (a test: its trigger, then its resolve)."""
    target = parse_target(url)
    where = target.endpoint(endpoint)
    if message.event is Event.RESOLVE:
        return _with_key(await post_json(client, where, resolve_event(target, message), timeout))
    outcome = _with_key(await post_json(client, where, trigger_event(target, message), timeout))
    if message.event is not Event.TEST or not outcome.ok:
        return outcome
    closed = _with_key(await post_json(client, where, resolve_event(target, message), timeout))
    answer = f"trigger: {outcome.answer}; resolve: {closed.answer}"
    return Outcome(closed.ok, answer, closed.retryable, closed.retry_after, closed.details)


def _with_key(outcome: Outcome) -> Outcome:
    """Keep the dedup_key PagerDuty answered with at the top of the receipt."""
    answered = outcome.details.get("response")
    if not isinstance(answered, dict) or "dedup_key" not in answered:
        return outcome
    details = {**outcome.details, "dedup_key": answered["dedup_key"]}
    return Outcome(outcome.ok, outcome.answer, outcome.retryable, outcome.retry_after, details)
