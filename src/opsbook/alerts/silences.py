"""Silences: label matchers with an author, a comment and an expiry, kept in the store.

A silence holds back the notifications of the alerts it matches from `starts_at` until
`ends_at`; the alerts are still evaluated and recorded. Making one and lifting one early are
journaled with their actor, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.alerts.matchers import matches_all, parse_matchers
from opsbook.alerts.tables import SilenceRow
from opsbook.clock import Clock
from opsbook.errors import ConflictError, NotFoundError, UsageError
from opsbook.journal import service as journal
from opsbook.storage.wakeup import announce

TOPIC = "alerts"  # the evaluating node looks again at once


def create(
    session: Session,
    clock: Clock,
    *,
    matchers: Sequence[str],
    duration: float | None = None,
    ends_at: datetime | None = None,
    starts_at: datetime | None = None,
    author: str,
    comment: str,
) -> SilenceRow:
    """A new silence; `duration` (seconds) or `ends_at` says when it expires."""
    try:
        parsed = parse_matchers(matchers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not parsed:
        raise UsageError("a silence needs at least one matcher, e.g. alertname=HighErrorRate")
    now = clock.now()
    start = starts_at or now
    end = ends_at or (start + timedelta(seconds=duration) if duration else None)
    if end is None or end <= start or end <= now:
        raise UsageError("a silence needs an expiry in the future (--for 2h or --until TIME)")
    if not comment.strip():
        raise UsageError("say why in a comment (--comment): the next person on call will ask")
    row = SilenceRow(
        matchers=[str(m) for m in parsed],
        starts_at=start,
        ends_at=end,
        author=author,
        comment=comment,
        created_at=now,
    )
    session.add(row)
    session.flush()
    journal.record(
        session,
        clock,
        actor=author,
        action="alerts.silence",
        subject=journal.Subject("silence", str(row.id)),
        summary=f"silenced {', '.join(row.matchers)} until {end:%Y-%m-%d %H:%M} UTC: {comment}",
        details={
            "matchers": row.matchers,
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
        },
    )
    announce(session, TOPIC)
    return row


def lift(session: Session, clock: Clock, silence_id: int, *, actor: str) -> SilenceRow:
    """End a silence now (`opsbook alerts unsilence`)."""
    row = session.get(SilenceRow, silence_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no silence {silence_id}")
    now = clock.now()
    if row.ends_at <= now:
        raise ConflictError(
            f"silence {silence_id} already ended at {row.ends_at:%Y-%m-%d %H:%M} UTC"
        )
    row.ends_at = max(now, row.starts_at)
    row.ended_by = actor
    session.flush()
    journal.record(
        session,
        clock,
        actor=actor,
        action="alerts.unsilence",
        subject=journal.Subject("silence", str(row.id)),
        summary=f"lifted silence {row.id} ({', '.join(row.matchers)})",
        details={"matchers": row.matchers},
    )
    announce(session, TOPIC)
    return row


def active(session: Session, now: datetime) -> list[SilenceRow]:
    query = select(SilenceRow).where(SilenceRow.starts_at <= now, SilenceRow.ends_at > now)
    return list(session.scalars(query.order_by(SilenceRow.id)))


def listed(session: Session, now: datetime, *, include_ended: bool = False) -> list[SilenceRow]:
    query = select(SilenceRow).order_by(SilenceRow.id.desc())
    if not include_ended:
        query = query.where(SilenceRow.ends_at > now)
    return list(session.scalars(query))


class Matcher:
    """The silences in force at one instant, ready to test many alerts against."""

    def __init__(self, rows: Sequence[SilenceRow]) -> None:
        self._silences = [(row.id, parse_matchers(row.matchers)) for row in rows]

    def silencing(self, labels: dict[str, str]) -> int | None:
        """The id of a silence that covers `labels`, or None."""
        for silence_id, matchers in self._silences:
            if matches_all(matchers, labels):
                return silence_id
        return None
