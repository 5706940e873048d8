"""The post-mortem, drafted in Markdown from the incident's record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from opsbook.incidents.model import ALERT_LINKS, EventKind
from opsbook.incidents.policy import Policy
from opsbook.incidents.service import response_missed
from opsbook.incidents.tables import ActionItemRow, IncidentEventRow, IncidentLinkRow, IncidentRow
from opsbook.units import format_duration


def _t(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "—"


def _span(start: datetime | None, end: datetime | None) -> str:
    return format_duration((end - start).total_seconds()) if start and end else "—"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def draft(
    incident: IncidentRow,
    policy: Policy,
    now: datetime,
    *,
    events: Sequence[IncidentEventRow],
    links: Sequence[IncidentLinkRow],
    actions: Sequence[ActionItemRow],
    runs: Sequence[dict[str, Any]] = (),
) -> str:
    """Markdown: summary, impact, times, timeline, alerts, runs, messages, cause, actions."""
    severity = policy.severity(incident.severity) if incident.severity in policy.levels else None
    lines = [
        f"# Post-mortem: {incident.title}",
        "",
        f"Incident {incident.id} · {incident.severity}{f' ({severity.name})' if severity else ''}"
        f" · {incident.status} · commander: {incident.commander or 'unassigned'}",
        "",
        "## Summary",
        "",
        incident.resolution or incident.root_cause or "_To be written._",
        "",
        "## Impact",
        "",
        incident.impact or "_Not recorded._",
    ]
    if incident.components:
        lines += ["", "Affected components: " + ", ".join(map(str, incident.components))]
    lines += _times(incident, policy, now)
    lines += _timeline(events)
    lines += _alerts(links)
    lines += _runs(runs)
    lines += _messages(events)
    lines += [
        "",
        "## Root cause",
        "",
        incident.root_cause or "_To be written._",
        "",
        "## Resolution",
        "",
        incident.resolution or "_To be written._",
    ]
    lines += _actions(actions)
    return "\n".join(lines).rstrip() + "\n"


def _times(incident: IncidentRow, policy: Policy, now: datetime) -> list[str]:
    missed = response_missed(incident, policy, now)
    return [
        "",
        "## Duration and times",
        "",
        "| | time | since detection |",
        "|---|---|---|",
        f"| Detected | {_t(incident.detected_at)} | |",
        *(
            f"| {label} | {_t(when)} | {_span(incident.detected_at, when)} |"
            for label, when in (
                ("Acknowledged", incident.acknowledged_at),
                ("Mitigated", incident.mitigated_at),
                ("Resolved", incident.resolved_at),
            )
        ),
        "",
        f"Response target {'**missed**' if missed else 'met'}; "
        f"highest escalation level paged: L{incident.escalation_level}."
        if incident.escalation_level
        else f"Response target {'**missed**' if missed else 'met'}; no escalation was needed.",
    ]


def _timeline(events: Sequence[IncidentEventRow]) -> list[str]:
    rows = [
        f"| {_t(e.at)} | {e.actor} | {e.kind} | {_cell(e.text.splitlines()[0] if e.text else '')} |"
        for e in events
        if e.kind != EventKind.MESSAGE
    ]
    return ["", "## Timeline", "", "| time | who | what | detail |", "|---|---|---|---|", *rows]


def _alerts(links: Sequence[IncidentLinkRow]) -> list[str]:
    alerts = [link for link in links if link.kind in ALERT_LINKS]
    if not alerts:
        return ["", "## Alerts", "", "_No alerts were linked._"]
    return [
        "",
        "## Alerts",
        "",
        *[
            f"- {a.label or a.ref} (linked {_t(a.linked_at)}; "
            f"{'still firing' if a.active else 'resolved'})"
            for a in alerts
        ],
    ]


def _runs(runs: Sequence[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["", "## Runbook runs", "", "_No runbook was run from this incident._"]
    lines = ["", "## Runbook runs"]
    for run in runs:
        lines += [
            "",
            f"### Run {run.get('run_id')}: {run.get('procedure', '')} — {run.get('status', '')}",
            "",
            "| step | title | status | exit | duration |",
            "|---|---|---|---|---|",
        ]
        for step in run.get("steps", []):
            duration = step.get("duration_seconds")
            lines.append(
                f"| {step.get('number')} | {_cell(str(step.get('title', '')))} | "
                f"{step.get('status')} | "
                f"{step.get('exit_code') if step.get('exit_code') is not None else ''} | "
                f"{format_duration(duration) if duration is not None else ''} |"
            )
    return lines


def _messages(events: Sequence[IncidentEventRow]) -> list[str]:
    sent = [e for e in events if e.kind == EventKind.MESSAGE]
    if not sent:
        return ["", "## Messages sent", "", "_No messages were sent._"]
    lines = ["", "## Messages sent"]
    for e in sent:
        channels = ", ".join(e.data.get("channels", []))
        lines += [
            "",
            f"{_t(e.at)} to {channels} ({e.data.get('template', 'message')}):",
            "",
            "```",
            e.text,
            "```",
        ]
    return lines


def _actions(actions: Sequence[ActionItemRow]) -> list[str]:
    lines = ["", "## Action items", ""]
    if not actions:
        return [*lines, "_None yet: add them with `opsbook incident action add`._"]
    lines += ["| # | action | owner | due | status |", "|---|---|---|---|---|"]
    lines += [
        f"| {a.id} | {_cell(a.text)} | {a.owner or '—'} | "
        f"{a.due.date().isoformat() if a.due else '—'} | {a.status} |"
        for a in actions
    ]
    return lines
