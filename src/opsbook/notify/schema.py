"""The versioned JSON of outbox messages, destinations and deliveries (`--json` and the API).

Every string passes through the redactor, which knows the secrets of every channel URL.
"""

from __future__ import annotations

from typing import Any

from opsbook.notify.delivery import Delivery
from opsbook.notify.masking import masked
from opsbook.notify.tables import DestinationHealth, OutboxMessage
from opsbook.secrets import Redactor


def message_json(row: OutboxMessage, redactor: Redactor) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": row.id,
        "channel": row.channel,
        "destination": row.destination_display,
        "transport": row.transport,
        "key": row.dedup_key,
        "event": row.event,
        "occurrence": row.occurrence,
        "severity": row.severity,
        "title": row.title,
        "state": row.state,
        "after_id": row.after_id,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at if row.state == "pending" else None,
        "last_attempt_at": row.last_attempt_at,
        "sent_at": row.sent_at,
        "last_error": row.last_error,
        "receipt": row.receipt or {},
    }
    return masked(document, redactor)


def destination_json(row: DestinationHealth, redactor: Redactor) -> dict[str, Any]:
    document: dict[str, Any] = {
        "channel": row.channel,
        "destination": row.display,
        "failing": row.failing_since is not None,
        "failing_since": row.failing_since,
        "consecutive_failures": row.consecutive_failures,
        "last_error": row.last_error,
        "last_success_at": row.last_success_at,
        "last_failure_at": row.last_failure_at,
    }
    return masked(document, redactor)


def delivery_json(delivery: Delivery, redactor: Redactor) -> dict[str, Any]:
    claim, outcome = delivery.claim, delivery.outcome
    document: dict[str, Any] = {
        "id": claim.message.id,
        "channel": claim.message.channel,
        "destination": claim.display,
        "ok": outcome.ok,
        "answer": outcome.answer,
        "attempt": claim.attempt,
        "state": delivery.final_state or "unknown",
    }
    return masked(document, redactor)
