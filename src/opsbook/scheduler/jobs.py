"""Running one job run to its end: the process, its heartbeat, and the recorded outcome.

Every kind of job runs as a child process in its own process group, so the timeout can kill
whatever it started: a command through /bin/sh, a built-in action through
`python -m opsbook.scheduler.action_child`, and a procedure through the execution service in a
child of its own (`python -m opsbook.scheduler.procedure_child`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsbook.config.schedules import ScheduleConfig
from opsbook.scheduler import service
from opsbook.scheduler.model import Outcome, RunStatus
from opsbook.scheduler.runner import ProcessResult, run_process
from opsbook.scheduler.tables import JobRun
from opsbook.secrets import Redactor

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
"""How often a running run tells the store it is alive (see service.STALE_AFTER_SECONDS)."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """What identifies a run to its process, as environment variables."""

    job: str
    run_id: int
    scheduled_for: str  # ISO time of the fire, empty for a manual run


def job_argv(spec: ScheduleConfig) -> list[str]:
    """The command line that runs `spec`."""
    if spec.command is not None:
        return ["/bin/sh", "-c", spec.command]
    if spec.action is not None:
        return [sys.executable, "-m", "opsbook.scheduler.action_child", spec.action]
    assert spec.procedure is not None
    confirm = ["--yes"] if spec.confirm else []
    return [sys.executable, "-m", "opsbook.scheduler.procedure_child", *confirm, spec.procedure]


def job_env(runtime: Runtime, spec: ScheduleConfig, ctx: RunContext) -> dict[str, str]:
    """The run's environment: opsbook's own, the job's `env`, and where the run comes from."""
    env = dict(os.environ)
    env.update(spec.env)
    config = runtime.config
    if config.path is not None:
        env["OPSBOOK_CONFIG"] = str(config.path)
    env["OPSBOOK_DATABASE_URL"] = config.database_url
    env["OPSBOOK_JOB"] = ctx.job
    env["OPSBOOK_JOB_RUN_ID"] = str(ctx.run_id)
    env["OPSBOOK_SCHEDULED_FOR"] = ctx.scheduled_for
    return env


def outcome_of(result: ProcessResult, spec: ScheduleConfig, redactor: Redactor) -> Outcome:
    if result.exit_code is None:
        status, note = RunStatus.FAILED, result.error
    elif result.timed_out:
        status = RunStatus.TIMED_OUT
        note = f"killed with its process group after the timeout of {spec.timeout:g}s"
    elif result.exit_code == 0:
        status, note = RunStatus.SUCCEEDED, ""
    else:
        status = RunStatus.FAILED
        note = (
            f"exited with status {result.exit_code}"
            if result.exit_code > 0
            else (f"killed by signal {-result.exit_code}")
        )
    return Outcome(
        status=status,
        exit_code=result.exit_code,
        output=redactor.redact(result.output),
        output_bytes=result.output_bytes,
        duration_seconds=result.duration_seconds,
        note=note,
    )


async def execute(runtime: Runtime, spec: ScheduleConfig, run_id: int) -> Outcome:
    """Run claimed run `run_id` of `spec` to its end and record the outcome in the store."""
    with runtime.db.read() as session:
        run = session.get(JobRun, run_id)
        scheduled = run.scheduled_for.isoformat() if run and run.scheduled_for else ""
    ctx = RunContext(spec.name, run_id, scheduled)
    redactor = Redactor(runtime.redactor.values)
    redactor.add_from_env(spec.env)
    beating = asyncio.create_task(_heartbeat(runtime, run_id))
    try:
        result = await run_process(
            job_argv(spec),
            env=job_env(runtime, spec, ctx),
            cwd=runtime.config.base_dir,
            timeout=spec.timeout,
        )
    except asyncio.CancelledError:
        await asyncio.shield(_record(runtime, run_id, _interrupted(), redactor))
        raise
    finally:
        beating.cancel()
    outcome = await asyncio.to_thread(outcome_of, result, spec, redactor)
    await _record(runtime, run_id, outcome, redactor)
    return outcome


def _interrupted() -> Outcome:
    return Outcome(RunStatus.INTERRUPTED, None, "", 0, 0.0, note="opsbook stopped during the run")


async def _record(runtime: Runtime, run_id: int, outcome: Outcome, redactor: Redactor) -> None:
    def write() -> None:
        with runtime.db.write() as session:
            service.finish_run(session, runtime.clock, run_id, outcome, redactor=redactor)

    await asyncio.to_thread(write)


async def _heartbeat(runtime: Runtime, run_id: int) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await asyncio.to_thread(_beat, runtime, run_id)
        except Exception:  # the store may be briefly away; the run goes on
            log.warning("could not record the heartbeat of job run #%s", run_id, exc_info=True)


def _beat(runtime: Runtime, run_id: int) -> None:
    with runtime.db.write() as session:
        service.heartbeat(session, run_id, runtime.clock.now())


class RunningJobs:
    """The job runs this process started, each a task on its event loop, by run id.

    `on_end` is called when a run's task ends (the scheduler uses it to wake up: a queued run
    may start now).
    """

    def __init__(self, runtime: Runtime, on_end: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.on_end = on_end
        self._tasks: dict[int, asyncio.Task[Outcome]] = {}

    def start(self, spec: ScheduleConfig, run_id: int) -> None:
        """Run claimed run `run_id` of `spec` through `execute`."""
        task = asyncio.create_task(execute(self.runtime, spec, run_id))
        self._tasks[run_id] = task
        task.add_done_callback(functools.partial(self._ended, run_id))

    def ids(self) -> frozenset[int]:
        return frozenset(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until every run started here has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def shutdown(self) -> None:
        """Kill the runs still going; each is recorded as interrupted."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _ended(self, run_id: int, _task: object = None) -> None:
        task = self._tasks.pop(run_id, None)
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("job run #%s failed to record its end", run_id, exc_info=task.exception())
        if self.on_end is not None:
            self.on_end()
