"""The checks worker: claims due checks through the store and runs them in one event loop.

Every `tick` it claims the checks due within `lookahead` (see `service.claim_due`; claiming ahead
keeps a slow store transaction from delaying a start) and starts
each at its due time as a task bounded by the check's own timeout: no thread per check, and a
hung target never holds up another check. Results and samples go to the batched writer, which
applies flap control and writes everything in one transaction per flush, off the probe path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from opsbook.checks import service
from opsbook.checks.model import CheckResult
from opsbook.checks.placement import place
from opsbook.checks.probe import ProbeContext, run_check
from opsbook.checks.service import Claim
from opsbook.checks.specs import configured_checks
from opsbook.cluster import service as cluster
from opsbook.config.checks import CheckConfig
from opsbook.metrics.store import MetricWriter, SeriesCache

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

Batch = list[tuple[Claim, CheckResult]]
FOREIGN_HOLD_OFF_SECONDS = 5.0


class ResultSink:
    """Results waiting for the writer's next transaction, where flap control is applied."""

    def __init__(self, specs: dict[str, CheckConfig]) -> None:
        self.specs = specs
        self.cache = SeriesCache()
        self._pending: Batch = []
        self._lock = threading.Lock()

    def add(self, claim: Claim, result: CheckResult) -> None:
        with self._lock:
            self._pending.append((claim, result))

    def take(self) -> Batch | None:
        with self._lock:
            batch, self._pending = self._pending, []
        return batch or None

    def apply(self, session: Session, batch: Batch) -> None:
        for flip in service.apply_results(session, batch, self.specs, cache=self.cache):
            log.info(
                "check %s: %s -> %s%s",
                flip.check,
                flip.from_status,
                flip.to_status,
                f" ({flip.error})" if flip.error else "",
            )

    def restore(self, batch: Batch) -> None:
        with self._lock:
            self._pending[:0] = batch


@dataclass
class WorkerStats:
    """Figures for progress lines and benchmarks (not state: nothing here must survive)."""

    runs: int = 0
    failures: int = 0
    claims: int = 0
    claim_time: float = 0.0  # seconds spent in claim transactions, all of them
    skipped_paused: int = 0

    def claim_cost(self) -> float | None:
        """Seconds of claim transaction per run claimed (the price of sharing through the store)."""
        return self.claim_time / self.claims if self.claims else None

    lags: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    claim_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def lag_percentile(self, q: float) -> float | None:
        return _percentile(self.lags, q)

    def claim_percentile(self, q: float) -> float | None:
        return _percentile(self.claim_seconds, q)


def _percentile(values: deque[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


class CheckWorker:
    name = "checks"

    def __init__(
        self,
        runtime: Runtime,
        *,
        tick: float = 0.5,
        lookahead: float = 2.0,
        claim_limit: int = 2000,
        host: str | None = None,
    ) -> None:
        settings = runtime.config.settings
        self.runtime = runtime
        self.tick_seconds, self.lookahead, self.claim_limit = tick, lookahead, claim_limit
        self.shared = runtime.db.is_postgres
        self.placement = place(configured_checks(runtime.config), shared=self.shared, host=host)
        self.specs = {spec.name: spec for spec in self.placement.runnable}
        # A run whose start comes this long after its claim was made means this process was
        # paused (SIGSTOP, a frozen VM): the others may have taken the check over, so skip it.
        self.paused_after = lookahead + float(settings.cluster.lease)
        self.ctx = ProbeContext(runtime.config, runtime.clock, runtime.redactor)
        self.writer = MetricWriter(
            runtime.db,
            flush_interval=settings.metrics.flush_interval,
            max_pending=settings.metrics.max_pending,
        )
        self.sink = ResultSink(self.specs)
        self.writer.add_sink(self.sink)
        self.stats = WorkerStats()
        self._tasks: dict[asyncio.Task[None], Claim] = {}
        self._store_trouble = False

    async def run(self, stop: asyncio.Event) -> None:
        """Sync the checks into the store, then claim and run until `stop` is set."""
        await asyncio.to_thread(self.sync)
        writer_stop = asyncio.Event()
        writer = asyncio.create_task(self.writer.run(writer_stop), name="checks-writer")
        try:
            while not stop.is_set():
                await self._tick_or_warn()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_seconds)
        finally:
            with contextlib.suppress(DBAPIError):
                await self.stop_runs()
            writer_stop.set()
            await writer
            await self.ctx.aclose()

    def sync(self) -> None:
        placement = self.placement
        with self.runtime.db.write() as session:
            service.sync_checks(
                session,
                [p.spec for p in placement.placed],
                self.runtime.clock.now(),
                hosts=placement.hosts,
                keep=placement.owned_elsewhere,
            )

    async def _tick_or_warn(self) -> None:
        """A tick; losing the store (a restart, the network) is logged once and retried, while
        runs already started go on and their results wait in the writer."""
        try:
            await self.tick()
        except DBAPIError as exc:
            if not self._store_trouble:
                first = (str(exc.orig or exc).splitlines() or [""])[0]
                log.warning("checks: cannot claim from the store (%s); retrying", first)
            self._store_trouble = True
            return
        if self._store_trouble:
            log.info("checks: claiming from the store again")
        self._store_trouble = False

    async def tick(self) -> int:
        """Claim what is due soon and start it; returns how many runs were claimed."""
        started = time.monotonic()
        claims = await asyncio.to_thread(self._claim)
        self.stats.claim_seconds.append(time.monotonic() - started)
        self.stats.claim_time += time.monotonic() - started
        self.stats.claims += len(claims)
        foreign = [c for c in claims if c.name not in self.specs]
        if foreign:  # another node's config has checks this one does not know
            await asyncio.to_thread(self._release, foreign, FOREIGN_HOLD_OFF_SECONDS)
        for claim in claims:
            if claim.name in self.specs:
                task = asyncio.create_task(self._run(claim, started), name=f"check:{claim.name}")
                self._tasks[task] = claim
                task.add_done_callback(self._finished)
        return len(claims)

    async def drain(self) -> None:
        """Wait until every started run has finished (tests, one-shot use)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop_runs(self) -> None:
        """Cancel unfinished runs and give their claims back so they run again at once."""
        pending = dict(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            await asyncio.to_thread(self._release, list(pending.values()))

    def _claim(self) -> list[Claim]:
        now = self.runtime.clock.now()
        with self.runtime.db.write() as session:
            return service.claim_due(
                session,
                self.runtime.node_id,
                now,
                horizon=self.lookahead,
                limit=self.claim_limit,
                host=self.placement.host if self.shared else None,
                dead=cluster.dead_node_ids(session, now) if self.shared else (),
            )

    def _release(self, claims: list[Claim], hold_off: float = 0.0) -> None:
        with self.runtime.db.write() as session:
            service.release(session, claims, self.runtime.clock.now(), hold_off)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("check run crashed", exc_info=task.exception())

    async def _run(self, claim: Claim, claimed_at: float) -> None:
        clock = self.runtime.clock
        wait = (claim.due - clock.now()).total_seconds()
        if wait > 0:
            await clock.sleep(wait)
        if time.monotonic() - claimed_at > self.paused_after:
            self.stats.skipped_paused += 1
            log.warning("check %s: skipped, this node was paused past its lease", claim.name)
            self._tasks.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            return
        self.stats.lags.append(max(0.0, (clock.now() - claim.due).total_seconds()))
        result = await run_check(self.specs[claim.name], self.ctx, claim.cursor)
        self.stats.runs += 1
        self.stats.failures += not result.up
        self.writer.extend(result.samples)
        self.sink.add(claim, result)
        self._tasks.pop(asyncio.current_task(), None)  # type: ignore[arg-type]


def make_worker(runtime: Runtime) -> CheckWorker | None:
    """The checks worker, or None when no check is configured."""
    worker = CheckWorker(runtime)
    return worker if worker.specs else None
