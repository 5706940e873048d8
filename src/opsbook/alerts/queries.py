"""Reading alerts back: the current ones, one with its history, and acknowledging one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.alerts.lifecycle import State
from opsbook.alerts.tables import AlertRow, AlertTransitionRow
from opsbook.clock import Clock
from opsbook.errors import ConflictError, NotFoundError
from opsbook.journal import service as journal
from opsbook.storage.wakeup import announce

TOPIC = "alerts"
"""Announced when people change what alerts send (an ack, a silence made or lifted)."""

STATES = ("pending", "firing", "resolved", "inactive")


def current(session: Session, *, states: Sequence[str] = ("pending", "firing")) -> list[AlertRow]:
    """Alerts in `states`, newest first; resolved ones are the history (latest 200)."""
    query = select(AlertRow).where(AlertRow.state.in_(states))
    query = query.order_by(AlertRow.id.desc())
    if not set(states) <= {"pending", "firing"}:
        query = query.limit(200)
    return list(session.scalars(query))


def find(session: Session, ref: str) -> AlertRow:
    """An alert by id, or the open (else latest) alert of a rule by name."""
    if ref.isdigit():
        row = session.get(AlertRow, int(ref))
    else:
        query = (
            select(AlertRow)
            .where(AlertRow.rule == ref, AlertRow.state != State.INACTIVE.value)
            .order_by(AlertRow.open_key.is_(None), AlertRow.id.desc())
            .limit(1)
        )
        row = session.scalars(query).first()
    if row is None:
        raise NotFoundError(f"no alert {ref!r} (give an id from `opsbook alerts list` or a rule)")
    return row


def transitions(session: Session, alert_id: int) -> list[AlertTransitionRow]:
    query = select(AlertTransitionRow).where(AlertTransitionRow.alert_id == alert_id)
    return list(session.scalars(query.order_by(AlertTransitionRow.id)))


def transitions_since(
    session: Session, after_id: int, limit: int = 500
) -> list[AlertTransitionRow]:
    """Transitions with an id above `after_id`, oldest first: how other areas follow alerts."""
    query = select(AlertTransitionRow).where(AlertTransitionRow.id > after_id)
    return list(session.scalars(query.order_by(AlertTransitionRow.id).limit(limit)))


def acknowledge(
    session: Session, clock: Clock, ref: str, *, actor: str, comment: str = ""
) -> AlertRow:
    """Mark an open alert acknowledged: no more reminders for it until it resolves."""
    row = find(session, ref)
    if row.state not in (State.PENDING.value, State.FIRING.value):
        raise ConflictError(
            f"alert {row.id} ({row.rule}) is {row.state}; only open alerts can be acknowledged"
        )
    if row.acked_at is not None:
        raise ConflictError(f"alert {row.id} was already acknowledged by {row.acked_by}")
    row.acked_by, row.acked_at, row.ack_comment = actor, clock.now(), comment
    session.flush()
    announce(session, TOPIC)  # the evaluating node looks again at once
    journal.record(
        session,
        clock,
        actor=actor,
        action="alerts.ack",
        subject=journal.Subject("alert", str(row.id)),
        summary=f"acknowledged {row.rule} ({row.state})" + (f": {comment}" if comment else ""),
        details={"rule": row.rule, "labels": row.labels, "comment": comment},
    )
    return row
