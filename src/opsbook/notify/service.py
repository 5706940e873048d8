"""Notification operations given a session and a clock. They flush; the caller commits.

```python
from opsbook.notify import service as notify
notify.enqueue(session, clock, channel="slack", key="alert:high_error_rate", event="trigger",
               title="Error rate above 5%", body="...", severity="critical",
               url="https://runbooks/db.md#fix")
```
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.errors import ConflictError, NotFoundError, UsageError
from opsbook.journal import service as journal
from opsbook.notify import wakeup
from opsbook.notify.destinations import ChannelSet, active_channels
from opsbook.notify.model import Event, MessageState
from opsbook.notify.render import render_message, template_fields
from opsbook.notify.rows import insert_ignoring_conflicts
from opsbook.notify.tables import OutboxMessage

IDENTITY = ("dedup_key", "event", "occurrence", "channel", "destination")
"""What makes two messages the same: a second enqueue of the same identity is a no-op."""
KEY_LIMIT = 255
OCCURRENCE_LIMIT = 100


def parse_event(event: str | Event) -> Event:
    try:
        return Event(event)
    except ValueError:
        expected = ", ".join(e.value for e in Event)
        raise UsageError(
            f"unknown notification event {event!r}; expected one of {expected}"
        ) from None


def _json_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """`data` as plain JSON (datetimes and other values become strings)."""
    plain = json.loads(json.dumps(data or {}, default=str))
    if not isinstance(plain, dict):
        raise UsageError("notification data must be a mapping")
    return plain


def enqueue(
    session: Session,
    clock: Clock,
    *,
    channel: str,
    key: str,
    event: str,
    title: str,
    body: str,
    severity: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
    occurrence: str = "",
    channels: ChannelSet | None = None,
) -> list[OutboxMessage]:
    """Queue a message for every destination of `channel`, in the caller's transaction.

    `key` + `event` (+ `occurrence`, for repeated events of one key such as the n-th reminder)
    de-duplicate per destination: enqueuing them again returns [] and changes nothing.
    PagerDuty destinations use `key` as the Events v2 dedup_key. `channels` defaults to the
    process's channels (`destinations.use_channels`). Returns the new rows, oldest first.
    """
    kind = parse_event(event)
    if not key or len(key) > KEY_LIMIT:
        raise UsageError(f"a notification key must be 1 to {KEY_LIMIT} characters")
    if len(occurrence) > OCCURRENCE_LIMIT:
        raise UsageError(f"a notification occurrence must be at most {OCCURRENCE_LIMIT} characters")
    found = (channels or active_channels()).get(channel)
    plain = _json_data(data)
    fields = template_fields(
        channel=channel,
        key=key,
        event=kind.value,
        title=title,
        body=body,
        severity=severity,
        url=url,
        data=plain,
    )
    rendered_title, rendered_body = render_message(found.settings, fields)
    now = clock.now()
    common = {
        "channel": channel,
        "dedup_key": key,
        "event": kind.value,
        "occurrence": occurrence,
        "severity": severity[:50],
        "title": rendered_title,
        "body": rendered_body,
        "link": url,
        "data": plain,
        "state": MessageState.PENDING.value,
        "attempts": 0,
        "max_attempts": 1 if kind is Event.TEST else found.settings.max_attempts,
        "created_at": now,
        "next_attempt_at": now,
        "last_error": "",
        "receipt": {},
        "claimed_by": "",
        "claim_token": 0,
    }
    waits_for = _unfinished_predecessors(session, channel, key)
    rows = [
        {**common, "destination": d.key, "destination_display": d.display}
        | {"transport": d.kind.value, "after_id": waits_for.get(d.key)}
        for d in found.destinations
    ]
    ids = insert_ignoring_conflicts(session, OutboxMessage, rows, IDENTITY, OutboxMessage.id)
    if not ids:
        return []
    wakeup.after_commit(session)
    query = select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    return list(session.scalars(query))


def _unfinished_predecessors(session: Session, channel: str, key: str) -> dict[str, int]:
    """For each destination, the newest message of `key` not yet sent or failed."""
    query = (
        select(OutboxMessage.destination, func.max(OutboxMessage.id))
        .where(
            OutboxMessage.dedup_key == key,
            OutboxMessage.channel == channel,
            OutboxMessage.state.in_([MessageState.PENDING.value, MessageState.SENDING.value]),
        )
        .group_by(OutboxMessage.destination)
    )
    return {str(destination): int(newest) for destination, newest in session.execute(query)}


def get(session: Session, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFoundError(f"no outbox message {message_id}")
    return message


def messages(
    session: Session,
    *,
    states: Iterable[MessageState] = (),
    channel: str | None = None,
    limit: int = 100,
) -> Sequence[OutboxMessage]:
    """Outbox rows newest first, filtered by state and channel."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    wanted = [s.value for s in states]
    if wanted:
        query = query.where(OutboxMessage.state.in_(wanted))
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    return session.scalars(query).all()


def counts(session: Session) -> dict[str, int]:
    """How many outbox rows are in each state (every state present, 0 when none)."""
    found = {
        str(state): int(n)
        for state, n in session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
    }
    return {state.value: int(found.get(state.value, 0)) for state in MessageState}


def retry(
    session: Session,
    clock: Clock,
    *,
    ids: Sequence[int] = (),
    all_failed: bool = False,
    actor: str,
) -> list[OutboxMessage]:
    """Put messages back in the queue, due now, with a fresh attempt budget.

    Failed and pending messages can be retried; a sent message or one being sent right now is a
    ConflictError, an unknown id a NotFoundError. Each retry is journaled with its actor.
    """
    now = clock.now()
    chosen = [get(session, i) for i in ids]
    if all_failed:
        failed = select(OutboxMessage).where(OutboxMessage.state == MessageState.FAILED.value)
        chosen += [m for m in session.scalars(failed.order_by(OutboxMessage.id)) if m not in chosen]
    for message in chosen:
        _check_retryable(message, now)
    for message in chosen:
        message.state = MessageState.PENDING.value
        message.attempts = 0
        message.next_attempt_at = now
        message.claimed_by = ""
        message.claim_expires_at = None
        journal.record(
            session,
            clock,
            actor=actor,
            action="notify.retry",
            subject=journal.Subject("notification", str(message.id)),
            summary=f"retry message {message.id} to channel {message.channel}",
        )
    session.flush()
    if chosen:
        wakeup.after_commit(session)
    return chosen


def _check_retryable(message: OutboxMessage, now: Any) -> None:
    if message.state == MessageState.SENT.value:
        raise ConflictError(f"message {message.id} was already sent at {message.sent_at}")
    expires = message.claim_expires_at
    if message.state == MessageState.SENDING.value and expires is not None and expires > now:
        left = (expires - now) / timedelta(seconds=1)
        raise ConflictError(
            f"message {message.id} is being sent by {message.claimed_by} now "
            f"(its claim ends in {left:.0f}s)"
        )


def find(session: Session, *, key: str, event: str | None = None) -> Sequence[OutboxMessage]:
    """Every outbox row of `key` (and `event`), oldest first, whatever its state.

    Lets a caller ask whether a trigger was queued before deciding on its resolve.
    """
    query = select(OutboxMessage).where(OutboxMessage.dedup_key == key)
    if event is not None:
        query = query.where(OutboxMessage.event == parse_event(event).value)
    return session.scalars(query.order_by(OutboxMessage.id)).all()
