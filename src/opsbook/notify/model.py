"""Typed objects of the notification layer. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opsbook.secrets import Secret


class Event(StrEnum):
    """What a message says about its key: PagerDuty maps trigger/reminder and resolve."""

    TRIGGER = "trigger"
    RESOLVE = "resolve"
    REMINDER = "reminder"
    TEST = "test"
    MESSAGE = "message"


class MessageState(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a node that is sending it now (until claim_expires_at)
    SENT = "sent"  # the receiver accepted it; the receipt says what it answered
    FAILED = "failed"  # gave up: max_attempts reached or a permanent error


class TransportKind(StrEnum):
    APPRISE = "apprise"
    PAGERDUTY = "pagerduty"
    SLACK = "slack"


@dataclass(frozen=True, slots=True)
class Destination:
    """One URL of one channel. `url` is secret; `display` is safe to print."""

    channel: str
    index: int  # position in channels.<name>.urls
    url: Secret
    kind: TransportKind
    key: str  # stable fingerprint of the URL, stored on outbox rows
    display: str  # the URL with its secrets masked
    secrets: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Message:
    """What one delivery sends: the rendered text plus the fields transports map."""

    id: int
    channel: str
    key: str
    event: Event
    title: str
    body: str
    severity: str = ""
    url: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A receiver's answer to one attempt.

    `answer` is what the receiver said (or why it could not be reached), already free of
    secrets; `retryable` is False for answers that no retry can change (HTTP 400, 404, ...);
    `retry_after` is the receiver's own requested wait in seconds (HTTP Retry-After).
    """

    ok: bool
    answer: str
    retryable: bool = True
    retry_after: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
