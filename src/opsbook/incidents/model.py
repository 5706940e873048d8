"""Incident statuses and the rules for moving between them. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum

from opsbook.errors import ConflictError


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATING, Status.MONITORING)
"""Statuses of an incident that is still being worked (escalation and reminders apply)."""

_ALLOWED: dict[Status, frozenset[Status]] = {
    status: frozenset(set(OPEN) - {status} | {Status.RESOLVED}) for status in OPEN
} | {
    # A resolved incident can be closed, or reopened when the problem comes back.
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset(),
}


ALERT_LINKS = ("alert", "external")
"""Link kinds of alerts: opsbook's own (ref: alert id) and Alertmanager's (ref: fingerprint)."""


class EventKind(StrEnum):
    """What a timeline entry records."""

    OPENED = "opened"
    STATUS = "status"
    UPDATE = "update"  # a message from a responder
    SEVERITY = "severity"
    COMMANDER = "commander"
    PARTICIPANT = "participant"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"  # a level of the ladder was paged
    MESSAGE = "message"  # a templated message was sent to the incident's channels
    REMINDER = "reminder"  # an update was overdue
    ALERT = "alert"  # a linked alert changed state
    RUN = "run"  # a runbook run was started from the incident
    ACTION_ITEM = "action_item"
    NOTE = "note"


def parse_status(text: str) -> Status:
    try:
        return Status(text.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise ConflictError(f"unknown status {text!r} (one of: {choices})") from None


def check_transition(current: Status, new: Status) -> None:
    """Raise ConflictError unless an incident may move from `current` to `new`."""
    if new == current:
        raise ConflictError(f"the incident is already {current}")
    if new not in _ALLOWED[current]:
        allowed = ", ".join(sorted(_ALLOWED[current])) or "nothing (it is closed)"
        raise ConflictError(
            f"an incident that is {current} cannot become {new} (allowed: {allowed})"
        )


def is_open(status: Status | str) -> bool:
    return Status(status) in OPEN
