"""The scheduler's background loop.

Each tick, on the node that leads the cluster (the `leader` lease, checked with `holds()` in
the claiming transaction), it brings the job rows in line with the config, marks runs of
vanished processes and dead nodes interrupted, claims due fires and queued runs, and starts
them; then it publishes the job metrics. Runs go on as tasks of this loop; when the loop stops,
running jobs are killed and marked interrupted. A run that ends on any node announces `jobs`,
which wakes the leader at once (a queued run may start).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from opsbook.cluster import service as cluster
from opsbook.config.schedules import ScheduleConfig
from opsbook.runtime import Runtime, Worker
from opsbook.scheduler import jobs, service
from opsbook.scheduler.metrics import MetricSink, job_samples
from opsbook.storage.coordination import Lease
from opsbook.storage.wakeup import Mark

log = logging.getLogger(__name__)

MAX_IDLE_SECONDS = 5.0  # the longest the loop sleeps between ticks (it renews the lease)
TOPIC = "jobs"


class SchedulerWorker:
    name = "scheduler"

    def __init__(self, runtime: Runtime, sink: MetricSink | None = None) -> None:
        self.runtime = runtime
        self.sink = sink
        self.specs: dict[str, ScheduleConfig] = {
            s.name: s for s in runtime.config.settings.schedules
        }
        self._wake = asyncio.Event()
        self.running = jobs.RunningJobs(runtime, on_end=self._wake.set)
        self._lease: Lease | None = None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                seen = self.runtime.wakeup.mark(TOPIC)
                await self.tick()
                await self._idle(stop, seen)
        finally:
            await self.shutdown()

    async def tick(self) -> list[int]:
        """One round; returns the ids of the runs it started."""
        now = self.runtime.clock.now()
        self._lease = await asyncio.to_thread(self._acquire, now)
        if self._lease is None:
            return []
        claimed = await asyncio.to_thread(self._claim)
        for run_id, job in claimed:
            self.running.start(self.specs[job], run_id)
        await asyncio.to_thread(self.publish, self.runtime.clock.now())
        return [run_id for run_id, _ in claimed]

    async def wait_idle(self) -> None:
        """Wait until every run this worker started has ended (tests, shutdown)."""
        await self.running.wait_idle()

    async def shutdown(self) -> None:
        """Kill running jobs (marked interrupted). Leadership is the node's to hand over."""
        await self.running.shutdown()
        self._lease = None

    def publish(self, now: datetime) -> None:
        """Write the job metrics to the sink, if there is one."""
        if self.sink is None:
            return
        with self.runtime.db.read() as session:
            samples = job_samples(session, list(self.specs.values()), now)
        self.sink.write(samples)

    def _acquire(self, now: datetime) -> Lease | None:
        with self.runtime.db.write() as session:
            return self.runtime.leadership.acquire(session, now)

    def _claim(self) -> list[tuple[int, str]]:
        runtime = self.runtime
        with runtime.db.write() as session:
            if not runtime.leadership.holds(session, runtime.clock):
                return []
            now = runtime.clock.now()
            specs = list(self.specs.values())
            service.sync_jobs(session, specs, now)
            dead = cluster.dead_node_ids(session, now)
            service.mark_stale(session, now, keep=self.running.ids(), dead_nodes=dead)
            runs = service.claim_due(session, self.specs, now, runtime.node_id)
            return [(run.id, run.job) for run in runs]

    async def _idle(self, stop: asyncio.Event, seen: Mark) -> None:
        self._wake.clear()
        seconds = await asyncio.to_thread(self._seconds_to_next_fire)
        waiters = [
            asyncio.create_task(self.runtime.wakeup.idle(stop, seen, seconds)),
            asyncio.create_task(self._wake.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _seconds_to_next_fire(self) -> float:
        now = self.runtime.clock.now()
        with self.runtime.db.read() as session:
            fires = [s.next_fire_at for s in service.states(session).values() if s.next_fire_at]
        soonest = min((f for f in fires), default=None)
        if soonest is None:
            return MAX_IDLE_SECONDS
        return max(0.05, min(MAX_IDLE_SECONDS, (soonest - now).total_seconds()))


def scheduler_worker(runtime: Runtime) -> Worker | None:
    """The scheduler, when the config has jobs to run; its metrics go to the runtime's shared
    metrics writer, where the default rules (failed, overdue) read them."""
    from opsbook.metrics.worker import shared_writer

    if not runtime.config.settings.schedules:
        return None
    return SchedulerWorker(runtime, sink=shared_writer(runtime))
