"""The delivery worker: an async loop that delivers due outbox rows until told to stop.

Everything it knows is in the store, so a restarted worker (or another node's) simply carries
on: rows it had claimed and not finished are sent again once their claim expires.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from opsbook.clock import Clock
from opsbook.notify import wakeup
from opsbook.notify.delivery import Delivery, deliver_due
from opsbook.notify.destinations import ChannelSet, use_channels
from opsbook.notify.transports import Sender
from opsbook.secrets import Redactor
from opsbook.storage import Database
from opsbook.storage.wakeup import Mark, Wakeup

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH_SIZE = 50


class DeliveryWorker:
    """Claims due messages in batches, sends them, records the answers; idles `poll` seconds."""

    name = "notify"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        channels: ChannelSet,
        *,
        node_id: str,
        redactor: Redactor | None = None,
        poll: float = POLL_SECONDS,
        batch_size: int = BATCH_SIZE,
        rand: random.Random | None = None,
        announcements: Wakeup | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.channels = channels
        self.node_id = node_id
        self.redactor = redactor or Redactor()
        self.poll = poll
        self.batch_size = batch_size
        self.rand = rand or random.Random()  # noqa: S311 - jitter, not cryptography
        self.announcements = announcements  # other nodes' `notify` announcements

    async def run(self, stop: asyncio.Event) -> None:
        wake = wakeup.subscribe()
        try:
            async with Sender(self.redactor) as sender:
                while not stop.is_set():
                    seen = self.announcements.mark(wakeup.TOPIC) if self.announcements else {}
                    deliveries = await self.run_once(sender)
                    if not deliveries:
                        await _idle(stop, wake, self.poll, self.announcements, seen)
        finally:
            wakeup.unsubscribe(wake)

    async def run_once(self, sender: Sender | None = None) -> list[Delivery]:
        """One round: claim a batch of due messages, send them, record the answers."""
        if sender is None:
            async with Sender(self.redactor) as own:
                return await self.run_once(own)
        deliveries = await deliver_due(
            self.db,
            self.clock,
            self.channels,
            sender,
            node=self.node_id,
            rand=self.rand,
            limit=self.batch_size,
        )
        for d in deliveries:
            if not d.outcome.ok:
                log.info(
                    "message %s to %s: attempt %s failed: %s",
                    d.claim.message.id,
                    d.claim.display,
                    d.claim.attempt,
                    d.outcome.answer,
                )
        return deliveries


async def _idle(
    stop: asyncio.Event,
    wake: asyncio.Event,
    seconds: float,
    announcements: Wakeup | None = None,
    seen: Mark | None = None,
) -> None:
    """Wait until `stop`, a wake-up (messages were queued in this process or announced by
    another node) or `seconds` pass."""
    waiters: list[asyncio.Future[bool]] = [
        asyncio.ensure_future(stop.wait()),
        asyncio.ensure_future(wake.wait()),
    ]
    if announcements is not None and seen:
        waiters.append(asyncio.ensure_future(announcements.idle(None, seen, seconds)))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    wake.clear()


def factory(runtime: Runtime) -> DeliveryWorker | None:
    """The runtime's notify worker; None when the config defines no channels.

    Checks every destination URL (a ConfigError with file:line stops the start) and makes the
    channels the process's default for `service.enqueue`.
    """
    if not runtime.config.settings.channels:
        return None
    channels = ChannelSet.from_config(runtime.config)
    use_channels(channels)
    return DeliveryWorker(
        runtime.db,
        runtime.clock,
        channels,
        node_id=runtime.node_id,
        redactor=runtime.redactor,
        announcements=runtime.wakeup,
    )


HEALTH_EVERY_SECONDS = 15.0


class HealthPublisher:
    """Writes the notify health figures (`notify_channel_failing{channel}`, ...) to the metrics
    store every `every` seconds, so alert rules can page about a channel that keeps failing.
    In a cluster only the leading node writes them (they are read from the store)."""

    name = "notify-health"

    def __init__(
        self, runtime: Runtime, channels: ChannelSet, *, every: float = HEALTH_EVERY_SECONDS
    ) -> None:
        self.runtime, self.channels, self.every = runtime, channels, every

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.publish)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except TimeoutError:
                continue

    def publish(self) -> int:
        """Compute and queue one round of samples; returns how many."""
        from opsbook.metrics.model import Sample
        from opsbook.metrics.worker import shared_writer
        from opsbook.notify.health import metric_samples

        if not self.runtime.leadership.lead(self.runtime.db, self.runtime.clock):
            return 0

        with self.runtime.db.read() as session:
            found = metric_samples(session, self.runtime.clock.now(), self.channels.names)
        samples = [Sample(s.name, s.labels, s.value, s.at) for s in found]
        shared_writer(self.runtime).extend(samples)
        return len(samples)


def health_factory(runtime: Runtime) -> HealthPublisher | None:
    if not runtime.config.settings.channels:
        return None
    return HealthPublisher(runtime, ChannelSet.from_config(runtime.config))
