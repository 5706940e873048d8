"""Recording a receiver's answer: the outbox row, its journal entry, the destination's health."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.config.channels import ChannelConfig
from opsbook.journal import service as journal
from opsbook.notify import health
from opsbook.notify.backoff import retry_delay
from opsbook.notify.claims import Claim
from opsbook.notify.model import MessageState, Outcome
from opsbook.notify.tables import OutboxMessage

log = logging.getLogger(__name__)

PENDING, SENDING = MessageState.PENDING.value, MessageState.SENDING.value
SENT, FAILED = MessageState.SENT.value, MessageState.FAILED.value


def record(
    session: Session,
    clock: Clock,
    *,
    claim: Claim,
    outcome: Outcome,
    settings: ChannelConfig,
    rand: random.Random,
) -> str | None:
    """Store the answer to `claim`'s attempt; the row's new state, or None if the claim was lost."""
    state = store_answer(session, clock, claim=claim, outcome=outcome, settings=settings, rand=rand)
    if state is not None:
        record_health(session, clock, claim, [outcome], settings)
    return state


def store_answer(
    session: Session,
    clock: Clock,
    *,
    claim: Claim,
    outcome: Outcome,
    settings: ChannelConfig,
    rand: random.Random,
) -> str | None:
    """The outbox row's new state and its journal entry (no destination health)."""
    now = clock.now()
    receipt = {
        "ok": outcome.ok,
        "answer": outcome.answer,
        "at": now.isoformat(),
        "attempt": claim.attempt,
        "node": claim.node,
        **outcome.details,
    }
    values: dict[str, Any] = {"receipt": receipt, "claimed_by": "", "claim_expires_at": None}
    if outcome.ok:
        values |= {"state": SENT, "sent_at": now}
    elif not outcome.retryable or claim.attempt >= claim.max_attempts:
        values |= {"state": FAILED, "last_error": outcome.answer}
    else:
        wait = retry_delay(settings, claim.attempt, rand, outcome.retry_after)
        values |= {
            "state": PENDING,
            "last_error": outcome.answer,
            "next_attempt_at": now + timedelta(seconds=wait),
        }
    changed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claim.message.id,
            OutboxMessage.state == SENDING,
            OutboxMessage.claimed_by == claim.node,
            OutboxMessage.claim_token == claim.token,
        )
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        log.warning(
            "outbox message %s was taken over before its answer was recorded", claim.message.id
        )
        return None
    _journal_result(session, clock, claim, outcome, values["state"])
    return str(values["state"])


def record_health(
    session: Session,
    clock: Clock,
    claim: Claim,
    outcomes: Sequence[Outcome],
    settings: ChannelConfig,
) -> None:
    """Apply one destination's answers, in order, to its health (a success, then the failures
    after the last success), with one or two statements however many answers there are."""
    where = {
        "channel": claim.message.channel,
        "destination": claim.destination,
        "display": claim.display,
    }
    successes = [i for i, outcome in enumerate(outcomes) if outcome.ok]
    failures = list(outcomes[successes[-1] + 1 :] if successes else outcomes)
    if successes:
        health.record_success(session, clock, **where)
    if failures:
        health.record_failure(
            session,
            clock,
            **where,
            error=failures[-1].answer,
            failing_after=settings.failing_after,
            count=len(failures),
        )


def _journal_result(
    session: Session, clock: Clock, claim: Claim, outcome: Outcome, state: str
) -> None:
    if state not in {SENT, FAILED}:
        return
    message = claim.message
    verb = "sent" if state == SENT else "failed"
    journal.record(
        session,
        clock,
        actor=journal.SYSTEM_ACTOR,
        action=f"notify.{verb}",
        subject=journal.Subject("notification", str(message.id)),
        summary=f"{message.event.value} {message.key!r} to {message.channel} ({claim.display}): "
        f"{verb} after {claim.attempt} attempt(s)",
        details={
            "key": message.key,
            "event": message.event.value,
            "channel": message.channel,
            "destination": claim.display,
            "answer": outcome.answer,
        },
    )
