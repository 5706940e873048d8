"""Runs started from the server: each one a task on the server's event loop.

A run is stored before its first step, so any node can show it and follow its output from the
store; this process only owns the task. At shutdown every run still going is told to stop: its
running step is killed and marked interrupted, and it can be resumed from any node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opsbook.errors import UnavailableError
from opsbook.execution import service
from opsbook.execution.inputs import secret_names
from opsbook.execution.model import RunOptions, RunRequest
from opsbook.execution.select import find, pick_steps
from opsbook.execution.tables import RunStepRow
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

    async def start(self, request: RunRequest) -> int:
        """Check and store a run and start it; returns its id once it is under way.

        Raises PreflightFailed (bad input) before anything is stored.
        """
        prepared = await asyncio.to_thread(
            service.prepare, self.runtime, request, actions=action_registry()
        )
        if not prepared.preflight.ok:
            raise service.PreflightFailed(prepared.preflight)
        return await self._launch(
            lambda followers: service.start(
                self.runtime,
                request,
                actions=action_registry(),
                followers=followers,
                prepared=prepared,
            )
        )

    async def resume(self, run_id: int, *, operator: str) -> int:
        """Continue a run from its first step not yet done (after a confirmation)."""
        return await self._launch(
            lambda followers: service.resume(
                self.runtime,
                run_id,
                operator=operator,
                actions=action_registry(),
                followers=followers,
            )
        )

    async def _launch(
        self, begin: Callable[[service.Followers], Awaitable[service.RunOutcome]]
    ) -> int:
        first = _FirstStep()
        followers = service.Followers(listener=first)
        task = asyncio.create_task(_outcome(begin(followers)))
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


async def _outcome(begin: Awaitable[service.RunOutcome]) -> service.RunOutcome:
    return await begin
