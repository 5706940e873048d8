"""Scheduled jobs run by hand from the server: each one a task on the server's event loop.

A run is claimed in the store first (`scheduler.service.start_manual`, which refuses while the
job runs and journals who started it), then goes through `scheduler.jobs.execute`, exactly as
the scheduler worker runs a fire: a child process in its own group, a heartbeat, the job's
timeout, capped and masked output, the outcome journaled. When the server stops, runs still
going are killed and recorded as interrupted.
"""

from __future__ import annotations

import asyncio

from opsbook.config.schedules import ScheduleConfig
from opsbook.errors import NotFoundError
from opsbook.runtime import Runtime
from opsbook.scheduler import jobs, service


class JobLauncher:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.running = jobs.RunningJobs(runtime)

    def spec(self, name: str) -> ScheduleConfig:
        """The configured job `name`; NotFoundError names the known ones."""
        specs = self.runtime.config.settings.schedules
        found = next((spec for spec in specs if spec.name == name), None)
        if found is None:
            known = ", ".join(spec.name for spec in specs) or "none configured"
            raise NotFoundError(f"unknown job {name!r} (known: {known})")
        return found

    async def run_now(self, name: str, actor: str) -> int:
        """Start a run of job `name` for `actor`; returns the run's id once it is stored."""
        spec = self.spec(name)
        run_id = await asyncio.to_thread(self._claim, spec, actor)
        self.running.start(spec, run_id)
        return run_id

    def _claim(self, spec: ScheduleConfig, actor: str) -> int:
        runtime = self.runtime
        with runtime.db.write() as session:
            run = service.start_manual(
                session, spec, runtime.clock.now(), runtime.node_id, actor, clock=runtime.clock
            )
            return run.id

    async def wait_idle(self) -> None:
        """Wait until every run started here has ended."""
        await self.running.wait_idle()

    async def shutdown(self) -> None:
        """Kill the runs still going; each is recorded as interrupted."""
        await self.running.shutdown()
