"""Delivery rounds: claim due messages, send each once, record every answer.

See `claims` for how rows are claimed and fenced, `receipts` for how answers are recorded.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from opsbook.clock import Clock
from opsbook.config.channels import ChannelConfig
from opsbook.notify.claims import PENDING, Claim, claim_due, claim_lease, give_back, still_held
from opsbook.notify.destinations import ChannelSet
from opsbook.notify.model import Outcome
from opsbook.notify.receipts import record_health, store_answer
from opsbook.notify.transports import Sender
from opsbook.storage import Database

CONCURRENCY = 16
SEND_MARGIN_SECONDS = 5.0
NOT_SENT = Outcome(ok=False, answer="not sent: this node was paused past its claim; given back")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt's result, for reports: the claim, the answer, and whether it was recorded."""

    claim: Claim
    outcome: Outcome
    recorded: bool
    final_state: str


async def deliver_due(
    db: Database,
    clock: Clock,
    channels: ChannelSet,
    sender: Sender,
    *,
    node: str,
    rand: random.Random,
    limit: int = 50,
    ids: Sequence[int] | None = None,
) -> list[Delivery]:
    """Claim due messages (or `ids`), send each once, record every answer. Returns the attempts.

    Answers are recorded as they come, several per transaction when they arrive together (a
    group commit), so a slow receiver delays nobody else's receipt.
    """
    work = _Round(db, clock, channels, sender, node, rand, time.monotonic())
    claims = await asyncio.to_thread(work.claim, limit, ids)
    if not claims:
        return []
    held = await asyncio.to_thread(work.check, claims)
    claims = [c for c in claims if c.message.id in held]
    answers: asyncio.Queue[tuple[Claim, Outcome | None]] = asyncio.Queue()
    gate = asyncio.Semaphore(CONCURRENCY)
    sending = [asyncio.create_task(work.send(c, gate, answers)) for c in claims]
    try:
        return await work.record_as_answered(answers, len(claims))
    finally:
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class _Round:
    """One round of delivery: claim, check, send, record."""

    db: Database
    clock: Clock
    channels: ChannelSet
    sender: Sender
    node: str
    rand: random.Random
    claimed_at: float  # time.monotonic() before the claim: the lease runs from then at the latest

    def claim(self, limit: int, ids: Sequence[int] | None) -> list[Claim]:
        with self.db.write() as session:
            return claim_due(
                session,
                self.clock.now(),
                node=self.node,
                channels=self.channels,
                limit=limit,
                ids=ids,
            )

    def check(self, claims: list[Claim]) -> set[int]:
        with self.db.read() as session:
            return still_held(session, claims, self.clock.now())

    async def send(
        self,
        claim: Claim,
        gate: asyncio.Semaphore,
        answers: asyncio.Queue[tuple[Claim, Outcome | None]],
    ) -> None:
        message = claim.message
        destination = self.channels.destination(message.channel, claim.destination, claim.display)
        assert destination is not None  # claim_due fails rows without one
        settings = self.channels.get(message.channel).settings
        async with gate:
            if not self.may_send(settings):
                answers.put_nowait((claim, None))
                return
            outcome = await self.sender.send(destination, message, settings)
        answers.put_nowait((claim, outcome))

    def may_send(self, settings: ChannelConfig) -> bool:
        """Whether a send started now ends (answer recorded) within the claim's lease, by this
        process's own clock: False after a pause (SIGSTOP, a frozen VM) or a long queue."""
        left = claim_lease(settings) - (time.monotonic() - self.claimed_at)
        return left > settings.timeout + SEND_MARGIN_SECONDS

    async def record_as_answered(
        self, answers: asyncio.Queue[tuple[Claim, Outcome | None]], count: int
    ) -> list[Delivery]:
        deliveries: list[Delivery] = []
        while len(deliveries) < count:
            answered = [await answers.get()]
            while not answers.empty():
                answered.append(answers.get_nowait())
            deliveries += await asyncio.to_thread(self.record_all, answered)
        return deliveries

    def record_all(self, answered: list[tuple[Claim, Outcome | None]]) -> list[Delivery]:
        """Record several answers in one transaction, each destination's health once."""
        deliveries = []
        by_destination: dict[tuple[str, str], tuple[Claim, list[Outcome]]] = {}
        with self.db.write() as session:
            for claim, outcome in answered:
                if outcome is None:
                    give_back(session, claim, self.clock.now())
                    deliveries.append(Delivery(claim, NOT_SENT, False, PENDING))
                    continue
                state = store_answer(
                    session,
                    self.clock,
                    claim=claim,
                    outcome=outcome,
                    settings=self._settings(claim),
                    rand=self.rand,
                )
                deliveries.append(Delivery(claim, outcome, state is not None, state or ""))
                if state is not None:
                    where = (claim.message.channel, claim.destination)
                    by_destination.setdefault(where, (claim, []))[1].append(outcome)
            for claim, outcomes in by_destination.values():
                record_health(session, self.clock, claim, outcomes, self._settings(claim))
        return deliveries

    def _settings(self, claim: Claim) -> ChannelConfig:
        return self.channels.get(claim.message.channel).settings
