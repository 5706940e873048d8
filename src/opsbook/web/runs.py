"""Runs started from the server: each one a task on the server's event loop.

A run is stored before its first step, so any node can show it and follow its output from the
store; this process only owns the task. At shutdown every run still going is told to stop: its
running step is killed and marked interrupted, and it can be resumed from any node.

A run made for an incident writes each step's result onto the incident's timeline and, when it
stops, how it ended; a resumed run keeps reporting to the incident it was made for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opsbook.errors import UnavailableError
from opsbook.execution import service
from opsbook.execution.engine import RunListener
from opsbook.execution.inputs import secret_names
from opsbook.execution.model import RunOptions, RunRequest
from opsbook.execution.select import find, pick_steps
from opsbook.execution.tables import RunStepRow
from opsbook.incidents import runs as incident_runs
from opsbook.incidents.service import IncidentContext
from opsbook.runbook.model import Runbook
from opsbook.runtime import Runtime, action_registry

log = logging.getLogger(__name__)
FIRST_STEP_SECONDS = 30.0


class _FirstStep:
    """A listener that learns the run's id when its first step starts."""

    def __init__(self) -> None:
        self.run_id: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def step_started(self, step: RunStepRow) -> None:
        if not self.run_id.done():
            self.run_id.set_result(step.run_id)

    def output(self, number: int, text: str) -> None:
        return None

    def step_finished(self, step: RunStepRow) -> None:
        return None


class RunLauncher:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._runs: dict[asyncio.Task[service.RunOutcome], service.Followers] = {}

    def request(
        self,
        book: Runbook,
        procedure: str,
        *,
        steps: str | None,
        variables: Mapping[str, str],
        operator: str,
        yes: bool,
    ) -> RunRequest:
        """What to run, from names as people write them (`Procedure/Part`, `2-5`)."""
        selection = find(book, procedure)
        return RunRequest(
            runbook=book,
            procedure=selection.procedure,
            steps=pick_steps(selection, steps),
            part=selection.part.title if selection.part else "",
            variables=dict(variables),
            secret_names=secret_names(variables, self.runtime.config.settings.secrets),
            operator=operator,
            options=RunOptions(yes=yes),
        )

    async def start(
        self,
        request: RunRequest,
        *,
        incident: int | None = None,
        ctx: IncidentContext | None = None,
    ) -> int:
        """Check and store a run and start it; returns its id once it is under way.

        With `incident` (and its `ctx`), the run is linked to that incident and reports there.
        Raises PreflightFailed (bad input) before anything is stored.
        """
        prepared = await asyncio.to_thread(
            service.prepare, self.runtime, request, actions=action_registry()
        )
        if not prepared.preflight.ok:
            raise service.PreflightFailed(prepared.preflight)
        report = None
        if ctx is not None and incident is not None:
            report = _IncidentReport(self.runtime, ctx, incident, request.operator)
        return await self._launch(
            lambda followers: service.start(
                self.runtime,
                request,
                actions=action_registry(),
                followers=followers,
                prepared=prepared,
            ),
            report,
        )

    async def resume(
        self, run_id: int, *, operator: str, ctx: IncidentContext | None = None
    ) -> int:
        """Continue a run from its first step not yet done (after a confirmation)."""
        report = None
        if ctx is not None:
            incident = await asyncio.to_thread(self._incident_of, run_id)
            if incident is not None:
                report = _IncidentReport(self.runtime, ctx, incident, operator)
        return await self._launch(
            lambda followers: service.resume(
                self.runtime,
                run_id,
                operator=operator,
                actions=action_registry(),
                followers=followers,
            ),
            report,
        )

    def _incident_of(self, run_id: int) -> int | None:
        with self.runtime.db.read() as session:
            return incident_runs.incident_for_run(session, run_id)

    async def _launch(
        self,
        begin: Callable[[service.Followers], Awaitable[service.RunOutcome]],
        report: _IncidentReport | None = None,
    ) -> int:
        first = _FirstStep()
        listener: RunListener = first
        if report is not None:
            listener = incident_runs.IncidentRunListener(
                self.runtime.db, report.ctx, report.incident, actor=report.actor, inner=first
            )
        followers = service.Followers(listener=listener)
        task = asyncio.create_task(_outcome(begin(followers), report))
        self._runs[task] = followers
        task.add_done_callback(self._finished)
        waiters: set[asyncio.Future[Any]] = {task, first.run_id}
        done, _ = await asyncio.wait(
            waiters, timeout=FIRST_STEP_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        if first.run_id.done():
            return first.run_id.result()
        if task in done:
            return task.result().run_id  # ended before a step started (a gate), or raised
        raise UnavailableError(f"the run did not start within {FIRST_STEP_SECONDS:.0f} s")

    def _finished(self, task: asyncio.Task[service.RunOutcome]) -> None:
        self._runs.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("a run started from the server failed", exc_info=task.exception())

    @property
    def active(self) -> int:
        return len(self._runs)

    async def shutdown(self, grace: float) -> None:
        """Stop every run this process owns; their running steps end up interrupted."""
        for followers in self._runs.values():
            followers.stop.set()
        if self._runs:
            await asyncio.wait(set(self._runs), timeout=grace)


class _IncidentReport:
    """Where a run reports: an incident, with the context to write to it and who started it."""

    def __init__(self, runtime: Runtime, ctx: IncidentContext, incident: int, actor: str) -> None:
        self.runtime, self.ctx, self.incident, self.actor = runtime, ctx, incident, actor

    def ended(self, run_id: int) -> None:
        with self.runtime.db.write() as session:
            incident_runs.attach(session, self.ctx, self.incident, run_id, actor=self.actor)
            incident_runs.finished(session, self.ctx, self.incident, run_id, actor=self.actor)


async def _outcome(
    begin: Awaitable[service.RunOutcome], report: _IncidentReport | None = None
) -> service.RunOutcome:
    outcome = await begin
    if report is not None:
        await asyncio.to_thread(report.ended, outcome.run_id)
    return outcome
