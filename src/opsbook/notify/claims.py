"""Claiming due outbox rows for one node.

Claims are rows: a claimed message is `sending`, names its node (`claimed_by`), carries a new
`claim_token` and a `claim_expires_at`. On PostgreSQL due rows are picked with
`FOR UPDATE SKIP LOCKED`, so several nodes never claim the same row; on SQLite the single writer
serialises claims. A node checks that its claims still hold right before it sends
(`still_held`), and records the answer with an UPDATE conditional on its token
(`receipts.record`), so a node that was paused past its claim neither sends nor records over
the node that took the message over. A node that dies mid-send leaves its rows `sending` until
the claim expires; then any node sends them again (delivery is at least once; see
docs/notifications.md). Right before each send the node also checks its own monotonic clock: a
claim older than its lease minus one send timeout is not sent (this process was paused) but
given back (`give_back`), so a send never starts after another node may have taken it over.

A message queued while an older message with the same key to the same destination was still
pending or sending waits for that one (`after_id`), so a resolve never overtakes its trigger.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from opsbook.config.channels import ChannelConfig
from opsbook.notify.destinations import ChannelSet
from opsbook.notify.model import Event, Message, MessageState
from opsbook.notify.tables import OutboxMessage

log = logging.getLogger(__name__)

PENDING, SENDING = MessageState.PENDING.value, MessageState.SENDING.value
FAILED = MessageState.FAILED.value
CLAIM_MARGIN_SECONDS = 30.0


def claim_lease(settings: ChannelConfig) -> float:
    """Seconds a claim lasts: two full attempts (a test to PagerDuty makes two calls) plus 30 s."""
    return 2 * settings.timeout + CLAIM_MARGIN_SECONDS


@dataclass(frozen=True, slots=True)
class Claim:
    message: Message
    destination: str
    display: str
    node: str
    token: int
    attempt: int  # 1-based number of this attempt
    max_attempts: int


def _due(now: datetime, ids: Sequence[int] | None) -> Any:
    expired = and_(OutboxMessage.state == SENDING, OutboxMessage.claim_expires_at <= now)
    if ids is not None:
        return and_(OutboxMessage.id.in_(ids), or_(OutboxMessage.state == PENDING, expired))
    pending = and_(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now)
    return or_(pending, expired)


def _not_waiting() -> Any:
    """The message's predecessor (`after_id`), if any, is sent or failed: a primary-key lookup."""
    older = aliased(OutboxMessage)
    unfinished = (
        select(older.id)
        .where(older.id == OutboxMessage.after_id, older.state.in_([PENDING, SENDING]))
        .exists()
    )
    return or_(OutboxMessage.after_id.is_(None), ~unfinished)


def claim_due(
    session: Session,
    now: datetime,
    *,
    node: str,
    channels: ChannelSet,
    limit: int = 50,
    ids: Sequence[int] | None = None,
) -> list[Claim]:
    """Claim up to `limit` due messages (or the given `ids` if due) for `node`; commit after."""
    query = (
        select(OutboxMessage)
        .where(_due(now, ids), _not_waiting())
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    rows = _within_rate_limits(session, now, rows, channels)
    claims = []
    for row in rows:
        settings = _settings_for(row, channels)
        if settings is None:
            _give_up(
                row,
                f"channels.{row.channel} no longer has the destination {row.destination_display}",
            )
            continue
        if row.state == SENDING and row.attempts >= row.max_attempts:
            _give_up(row, f"{row.claimed_by} stopped while sending it, on its last attempt")
            continue
        row.state = SENDING
        row.claimed_by = node
        row.claim_token += 1
        row.claim_expires_at = now + timedelta(seconds=claim_lease(settings))
        row.attempts += 1
        row.last_attempt_at = now
        claims.append(_claim_of(row, node))
    session.flush()
    return claims


def _settings_for(row: OutboxMessage, channels: ChannelSet) -> ChannelConfig | None:
    if channels.destination(row.channel, row.destination, row.destination_display) is None:
        return None
    return channels.get(row.channel).settings


def _give_up(row: OutboxMessage, reason: str) -> None:
    row.state = FAILED
    row.last_error = reason
    row.claimed_by = ""
    row.claim_expires_at = None
    log.warning("outbox message %s failed: %s", row.id, reason)


def _within_rate_limits(
    session: Session, now: datetime, rows: list[OutboxMessage], channels: ChannelSet
) -> list[OutboxMessage]:
    """The rows each channel's `rate` allows now; the rest are put off until a slot frees."""
    limited = sorted(
        {
            r.channel
            for r in rows
            if r.channel in channels and channels.get(r.channel).settings.rate_limit
        }
    )
    if not limited:
        return rows
    allowed: dict[str, int] = {}
    for name in limited:
        count, per = channels.get(name).settings.rate_limit or (0, 0.0)
        if session.get_bind().dialect.name == "postgresql":
            # One claimer at a time per limited channel, so nodes do not both spend one budget.
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                {"k": f"opsbook.notify.rate.{name}"},
            )
        since = now - timedelta(seconds=per)
        recent = session.execute(
            select(func.count(), func.min(OutboxMessage.last_attempt_at)).where(
                OutboxMessage.channel == name, OutboxMessage.last_attempt_at > since
            )
        ).one()
        allowed[name] = max(0, count - int(recent[0]))
        first = recent[1]
        free_at = (first + timedelta(seconds=per)) if first is not None else now
        _put_off([r for r in rows if r.channel == name][allowed[name] :], free_at)
    kept = []
    for row in rows:
        if row.channel in allowed:
            if allowed[row.channel] <= 0:
                continue
            allowed[row.channel] -= 1
        kept.append(row)
    return kept


def _put_off(rows: list[OutboxMessage], when: datetime) -> None:
    for row in rows:
        if row.state == PENDING:
            row.next_attempt_at = max(row.next_attempt_at, when)


def _claim_of(row: OutboxMessage, node: str) -> Claim:
    message = Message(
        id=row.id,
        channel=row.channel,
        key=row.dedup_key,
        event=Event(row.event),
        title=row.title,
        body=row.body,
        severity=row.severity,
        url=row.link,
        data=dict(row.data or {}),
    )
    return Claim(
        message=message,
        destination=row.destination,
        display=row.destination_display,
        node=node,
        token=row.claim_token,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
    )


def still_held(session: Session, claims: Sequence[Claim], now: datetime) -> set[int]:
    """The ids of `claims` that are still theirs and unexpired (check right before sending)."""
    if not claims:
        return set()
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.claimed_by, OutboxMessage.claim_token).where(
            OutboxMessage.id.in_([c.message.id for c in claims]),
            OutboxMessage.state == SENDING,
            OutboxMessage.claim_expires_at > now,
        )
    ).all()
    current = {row.id: (row.claimed_by, row.claim_token) for row in rows}
    return {c.message.id for c in claims if current.get(c.message.id) == (c.node, c.token)}


def give_back(session: Session, claim: Claim, now: datetime) -> bool:
    """Return a claim that was never sent (this node found itself paused too long to send
    safely): pending again at once, the attempt not counted. False when it was taken over."""
    changed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claim.message.id,
            OutboxMessage.state == SENDING,
            OutboxMessage.claimed_by == claim.node,
            OutboxMessage.claim_token == claim.token,
        )
        .values(
            state=PENDING,
            claimed_by="",
            claim_expires_at=None,
            attempts=OutboxMessage.attempts - 1,
            next_attempt_at=now,
        )
    )
    return bool(changed.rowcount == 1)  # type: ignore[attr-defined]
