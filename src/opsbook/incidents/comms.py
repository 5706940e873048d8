"""Messages about an incident: templates rendered with Jinja2 and sent through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.errors import ConfigError
from opsbook.incidents.tables import IncidentRow
from opsbook.notify import service as notify
from opsbook.notify.destinations import ChannelSet
from opsbook.units import format_duration

# Names the seeds' templates use for the same incident fields (as `opsbook import` writes them).
ALIASES = {
    "user_facing_impact": "impact",
    "updated_impact": "current_impact",
    "whats_been_done": "progress",
    "what_s_been_done": "progress",
    "resolution_estimate": "eta",
    "time": "next_update",
    "brief_description": "root_cause",
    "what_fixed_it": "resolution",
    "investigating_mitigating_monitoring": "status",
    "investigatingmitigatingmonitoring": "status",
}


class _Placeholder(Undefined):
    """A field nobody filled in renders as `[name]`, the way the runbook wrote it."""

    def __str__(self) -> str:
        return f"[{self._undefined_name}]"


_ENV = SandboxedEnvironment(undefined=_Placeholder, autoescape=False, keep_trailing_newline=False)
_STRICT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template(name: str, text: str) -> None:
    """Raise ConfigError when a template does not compile."""
    try:
        _STRICT.parse(text)
    except TemplateError as exc:
        raise ConfigError(f"incidents.templates.{name}: {exc}") from None


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def fields(incident: IncidentRow, now: datetime, **extra: Any) -> dict[str, Any]:
    """Everything a template may name about `incident`."""
    end = incident.resolved_at
    duration = (end or now) - incident.detected_at
    values: dict[str, Any] = {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "severity_number": incident.severity.lstrip("PpSsEeVv"),
        "status": incident.status.title(),
        "impact": incident.impact or "",
        "current_impact": incident.impact or "",
        "commander": incident.commander or "unassigned",
        "runbook": incident.runbook,
        "start": _time(incident.detected_at),
        "end": _time(end) if end else "ongoing",
        "duration": format_duration(duration.total_seconds()),
        "root_cause": incident.root_cause,
        "resolution": incident.resolution,
        "next_update": _time(incident.next_update_due_at) if incident.next_update_due_at else "",
        "date": ((end or now) + timedelta(days=2)).date().isoformat(),
    }
    values.update({k: v for k, v in extra.items() if v is not None})
    for alias, name in ALIASES.items():
        values.setdefault(alias, values.get(name, ""))
    return values


def render(template: str, values: dict[str, Any]) -> str:
    try:
        return _ENV.from_string(template).render(values).strip()
    except TemplateError as exc:
        return f"{values.get('title', '')}\n(template error: {exc})"


def send(
    session: Session,
    clock: Clock,
    *,
    channel_set: ChannelSet | None,
    channels: tuple[str, ...] | list[str],
    key: str,
    event: str,
    title: str,
    body: str,
    severity: str,
    url: str = "",
    data: dict[str, Any] | None = None,
    occurrence: str = "",
) -> list[str]:
    """Enqueue `body` to every channel; returns the channels it was queued for.

    Messages that share a `key` are delivered in the order they were queued (per destination),
    so an incident's messages use one key and tell themselves apart by `occurrence`.
    """
    if not channels:
        return []
    queued = []
    for channel in dict.fromkeys(channels):
        rows = notify.enqueue(
            session,
            clock,
            channels=channel_set,
            channel=channel,
            key=key,
            event=event,
            title=title,
            body=body,
            severity=severity,
            url=url,
            data=data or {},
            occurrence=occurrence,
        )
        if rows:
            queued.append(channel)
    return queued


def _time(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""
