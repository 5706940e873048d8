"""The metrics upkeep worker: rolls samples up by the minute and applies retention.

One node does it at a time, under the `metrics-upkeep` lease; the work is idempotent, so a node
that lost its lease mid-pass only repeats what the next holder would do anyway.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsbook.clock import Clock
from opsbook.config.metrics import MetricsConfig
from opsbook.metrics import rollup
from opsbook.metrics.model import to_ms
from opsbook.metrics.query import RAW_KEPT_FROM, ROLLED_UP_TO
from opsbook.metrics.store import MetricWriter
from opsbook.storage import Database
from opsbook.storage.coordination import acquire

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "metrics-upkeep"
PASS_EVERY_SECONDS = 60.0
LATENESS_SECONDS = 300.0  # a minute is rolled up once samples for it can no longer be pending


@dataclass
class UpkeepReport:
    minutes: int = 0
    rollups: int = 0
    raw_deleted: int = 0
    rollups_deleted: int = 0


def upkeep(
    db: Database, clock: Clock, settings: MetricsConfig, *, lateness: float = LATENESS_SECONDS
) -> UpkeepReport:
    """One pass: roll up the complete minutes not yet done, then delete what retention allows.

    Each slice of series is its own transaction; watermarks move only after every slice is done.
    """
    report = UpkeepReport()
    now_ms = to_ms(clock.now())
    while True:
        with db.read() as session:
            span = rollup.rollup_span(session, now_ms, round(lateness * 1000))
            slices = rollup.series_slices(session)
        if span is None:
            break
        written = 0
        for ids in slices:
            with db.write() as session:
                written += rollup.roll_up(session, ids, *span)
        mark = span[1] if written else _skip_empty(db, slices, span[1], now_ms, lateness)
        with db.write() as session:
            rollup.set_watermark(session, ROLLED_UP_TO, mark)
        report.rollups += written
        report.minutes += (span[1] - span[0]) // rollup.MINUTE_MS
    _prune(db, now_ms, settings, report)
    return report


def _skip_empty(
    db: Database, slices: list[list[int]], after_ms: int, now_ms: int, lateness: float
) -> int:
    """Past an empty span, jump to the minute of the next sample (or as far as allowed)."""
    limit = (now_ms - round(lateness * 1000)) // rollup.MINUTE_MS * rollup.MINUTE_MS
    with db.read() as session:
        found = [rollup.next_sample_at(session, ids, after_ms) for ids in slices]
    times = [t for t in found if t is not None]
    if not times:
        return max(after_ms, limit)
    return max(after_ms, min(min(times) // rollup.MINUTE_MS * rollup.MINUTE_MS, limit))


def _prune(db: Database, now_ms: int, settings: MetricsConfig, report: UpkeepReport) -> None:
    with db.read() as session:
        slices = rollup.series_slices(session)
        cutoff = rollup.raw_cutoff(session, now_ms, round(settings.raw_retention * 1000))
        kept_from = rollup.get_watermark(session, RAW_KEPT_FROM)
    rollup_cutoff = now_ms - round(settings.rollup_retention * 1000)
    for ids in slices:
        with db.write() as session:
            if cutoff is not None and (kept_from is None or cutoff > kept_from):
                report.raw_deleted += rollup.prune_raw(session, ids, cutoff)
            report.rollups_deleted += rollup.prune_rollups(session, ids, rollup_cutoff)
    if cutoff is not None and (kept_from is None or cutoff > kept_from):
        with db.write() as session:
            rollup.set_watermark(session, RAW_KEPT_FROM, cutoff)


_SHARED: dict[int, MetricWriter] = {}


def shared_writer(runtime: Runtime) -> MetricWriter:
    """The runtime's batched writer for samples from any worker (`writer.write(samples)`).

    The metrics worker flushes it, on every node, for as long as the runtime's workers run.
    """
    key = id(runtime)
    if key not in _SHARED:
        metrics = runtime.config.settings.metrics
        _SHARED[key] = MetricWriter(
            runtime.db, flush_interval=metrics.flush_interval, max_pending=metrics.max_pending
        )
        weakref.finalize(runtime, _SHARED.pop, key, None)
    return _SHARED[key]


class MetricsUpkeep:
    """Flushes the shared writer, and runs `upkeep` every minute on the node that holds the
    upkeep lease."""

    name = "metrics-upkeep"

    def __init__(self, runtime: Runtime, every: float = PASS_EVERY_SECONDS) -> None:
        self.runtime = runtime
        self.every = every

    async def run(self, stop: asyncio.Event) -> None:
        writer = asyncio.create_task(shared_writer(self.runtime).run(stop), name="metrics-writer")
        try:
            await self._upkeep_until(stop)
        finally:
            await writer

    async def _upkeep_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await asyncio.to_thread(self._holds_lease):
                runtime = self.runtime
                report = await asyncio.to_thread(
                    upkeep, runtime.db, runtime.clock, runtime.config.settings.metrics
                )
                if report.minutes or report.raw_deleted or report.rollups_deleted:
                    log.info("metrics upkeep: %s", report)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except TimeoutError:
                continue

    def _holds_lease(self) -> bool:
        with self.runtime.db.write() as session:
            lease = acquire(
                session, LEASE, self.runtime.node_id, self.every * 3, self.runtime.clock.now()
            )
        return lease is not None


def make_worker(runtime: Runtime) -> MetricsUpkeep:
    return MetricsUpkeep(runtime)
