"""Delivery health per destination, the flips between ok and failing, and what alerts can use.

A destination is *failing* once `channels.<name>.failing_after` attempts in a row have failed,
and *recovers* at its next accepted message. Each flip is decided by one conditional UPDATE (so
with several nodes exactly one records it) and written to the journal
(`notify.destination_failing`, `notify.destination_recovered`).

For alerting, `metric_samples` gives `notify_channel_failing{channel}` (1 while any destination
of the channel is failing, else 0) and friends, and `builtin_rules` gives one rule per channel in
the shape of an `alerts:` entry, sent to every *other* channel.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.config.model import OpsbookConfig
from opsbook.journal import service as journal
from opsbook.notify.model import MessageState
from opsbook.notify.rows import insert_ignoring_conflicts
from opsbook.notify.tables import DestinationHealth, OutboxMessage

log = logging.getLogger(__name__)

FAILING_METRIC = "notify_channel_failing"


@dataclass(frozen=True, slots=True)
class HealthSample:
    """One metric value: `notify_channel_failing{channel="slack"} 1`."""

    name: str
    labels: dict[str, str]
    value: float
    at: datetime
    help: str = field(default="", compare=False)


def _subject(channel: str, destination: str) -> journal.Subject:
    return journal.Subject("notify_destination", f"{channel}/{destination}")


def _update(
    session: Session, channel: str, destination: str, display: str, values: dict[str, Any]
) -> None:
    """Apply `values` to the destination's row, creating the row the first time."""
    key = (DestinationHealth.channel == channel, DestinationHealth.destination == destination)
    statement = update(DestinationHealth).where(*key).values(display=display, **values)
    if session.execute(statement).rowcount == 0:  # type: ignore[attr-defined]
        _ensure_row(session, channel, destination, display)
        session.execute(statement)


def _ensure_row(session: Session, channel: str, destination: str, display: str) -> None:
    insert_ignoring_conflicts(
        session,
        DestinationHealth,
        [
            {
                "channel": channel,
                "destination": destination,
                "display": display,
                "consecutive_failures": 0,
                "last_error": "",
            }
        ],
        ["channel", "destination"],
    )


def record_success(
    session: Session, clock: Clock, *, channel: str, destination: str, display: str
) -> None:
    """Reset the destination's failure count; journal a recovery when it was failing."""
    key = (DestinationHealth.channel == channel, DestinationHealth.destination == destination)
    recovered = session.execute(
        update(DestinationHealth)
        .where(*key, DestinationHealth.failing_since.is_not(None))
        .values(failing_since=None)
    )
    _update(
        session,
        channel,
        destination,
        display,
        {"consecutive_failures": 0, "last_success_at": clock.now()},
    )
    if recovered.rowcount == 1:  # type: ignore[attr-defined]
        log.info("notification destination %s of channel %s recovered", display, channel)
        journal.record(
            session,
            clock,
            actor=journal.SYSTEM_ACTOR,
            action="notify.destination_recovered",
            subject=_subject(channel, destination),
            summary=f"channel {channel}: {display} accepts messages again",
        )


def record_failure(
    session: Session,
    clock: Clock,
    *,
    channel: str,
    destination: str,
    display: str,
    error: str,
    failing_after: int,
    count: int = 1,
) -> None:
    """Count `count` failed attempts; journal the flip to failing when the limit is reached."""
    now = clock.now()
    key = (DestinationHealth.channel == channel, DestinationHealth.destination == destination)
    _update(
        session,
        channel,
        destination,
        display,
        {
            "consecutive_failures": DestinationHealth.consecutive_failures + count,
            "last_failure_at": now,
            "last_error": error,
        },
    )
    flipped = session.execute(
        update(DestinationHealth)
        .where(
            *key,
            DestinationHealth.failing_since.is_(None),
            DestinationHealth.consecutive_failures >= failing_after,
        )
        .values(failing_since=now)
    )
    if flipped.rowcount == 1:  # type: ignore[attr-defined]
        log.warning(
            "notification destination %s of channel %s is failing: %s", display, channel, error
        )
        journal.record(
            session,
            clock,
            actor=journal.SYSTEM_ACTOR,
            action="notify.destination_failing",
            subject=_subject(channel, destination),
            summary=f"channel {channel}: {display} failed {failing_after} times in a row",
            details={"last_error": error},
        )


def destinations(session: Session) -> Sequence[DestinationHealth]:
    """Every destination that has been tried, failing ones first."""
    query = select(DestinationHealth).order_by(
        DestinationHealth.failing_since.is_(None),
        DestinationHealth.channel,
        DestinationHealth.destination,
    )
    return session.scalars(query).all()


def failing_channels(session: Session) -> list[str]:
    """Names of the channels with at least one failing destination."""
    query = (
        select(DestinationHealth.channel)
        .where(DestinationHealth.failing_since.is_not(None))
        .distinct()
        .order_by(DestinationHealth.channel)
    )
    return list(session.scalars(query))


def metric_samples(
    session: Session, now: datetime, channels: Iterable[str] = ()
) -> list[HealthSample]:
    """The notify metrics at `now`; every name in `channels` gets a failing sample, 0 or 1."""
    failing = set(failing_channels(session))
    samples = [
        HealthSample(
            FAILING_METRIC,
            {"channel": name},
            float(name in failing),
            now,
            "1 while a destination of the channel is failing",
        )
        for name in sorted(set(channels) | failing)
    ]
    for row in destinations(session):
        samples.append(
            HealthSample(
                "notify_destination_consecutive_failures",
                {"channel": row.channel, "destination": row.destination},
                float(row.consecutive_failures),
                now,
                "failed attempts in a row",
            )
        )
    counts = {
        str(state): int(n)
        for state, n in session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
    }
    for state in MessageState:
        samples.append(
            HealthSample(
                "notify_outbox_messages",
                {"state": state.value},
                float(counts.get(state.value, 0)),
                now,
                "outbox messages by state",
            )
        )
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.state.in_([MessageState.PENDING.value, MessageState.SENDING.value])
        )
    )
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    samples.append(
        HealthSample(
            "notify_outbox_oldest_pending_seconds",
            {},
            max(age, 0.0),
            now,
            "age of the oldest message not yet delivered",
        )
    )
    return samples


def builtin_rules(settings: OpsbookConfig) -> list[dict[str, Any]]:
    """One alert rule per channel, in the shape of an `alerts:` entry, routed to the others."""
    names = sorted(settings.channels)
    return [
        {
            "name": f"notification_channel_failing_{name}",
            "condition": f'{FAILING_METRIC}{{channel="{name}"}} > 0',
            "for": "0s",
            "severity": "warning",
            "channels": [other for other in names if other != name],
            "message": (
                f"Notifications to channel {name} keep failing; "
                "see `opsbook notify outbox --failed`"
            ),
            "labels": {"channel": name, "source": "notify"},
        }
        for name in names
    ]
