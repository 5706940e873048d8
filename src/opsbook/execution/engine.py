"""The run loop: for each step, its gate, then its runner, with every result stored as it happens.

One `Execution` is one process working on one run. It proves it is alive with a heartbeat (and
learns of cancel requests the same way), appends output to the store as it arrives, and stops at
the first step that fails (unless told to continue), at a gate nobody confirmed (the step waits),
or when `stop` is set (Ctrl-C, a cancel: the running step's processes are killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from opsbook.actions import ActionRegistry
from opsbook.execution import liveness, store
from opsbook.execution.model import DONE_STEP, RunOptions, RunStatus, StepResult, StepStatus
from opsbook.execution.output import KeeperFlush, OutputKeeper, OutputMasker
from opsbook.execution.runners import StepContext, run_step
from opsbook.execution.shell import ShellSession
from opsbook.execution.sql import SqlTarget
from opsbook.execution.steps import gate_reasons, needs_person, step_timeout
from opsbook.execution.tables import RunStepRow
from opsbook.execution.vault import StateVault
from opsbook.runbook.model import Step
from opsbook.runtime import Runtime
from opsbook.secrets import Redactor

FLUSH_SECONDS = 0.25


class Decision(StrEnum):
    RUN = "run"  # confirmed: run it (or, for a manual step, it is done)
    SKIP = "skip"
    STOP = "stop"  # leave it waiting


class Prompter(Protocol):
    """Asks the operator at the terminal (or anywhere else a person answers)."""

    def gate(self, step: Step, reasons: list[str]) -> Decision: ...

    def manual(self, step: Step) -> Decision: ...


class RunListener(Protocol):
    """Follows a run as it happens (the terminal; an incident timeline)."""

    def step_started(self, step: RunStepRow) -> None: ...

    def output(self, number: int, text: str) -> None: ...

    def step_finished(self, step: RunStepRow) -> None: ...


class QuietListener:
    def step_started(self, step: RunStepRow) -> None:
        return None

    def output(self, number: int, text: str) -> None:
        return None

    def step_finished(self, step: RunStepRow) -> None:
        return None


@dataclass
class Execution:
    runtime: Runtime
    run_id: int
    steps: tuple[Step, ...]
    env: Mapping[str, str]  # the environment every step starts with
    options: RunOptions
    shell: ShellSession
    redactor: Redactor
    targets: Mapping[int, SqlTarget]
    operator: str
    source: str = ""
    actions: ActionRegistry | None = None
    prompter: Prompter | None = None
    listener: RunListener = field(default_factory=QuietListener)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = "interrupted"
    lost: bool = False  # another process took the run over: write nothing more
    vault: StateVault | None = None  # copies the shell state into the store for other nodes
    failures: list[str] = field(default_factory=list)  # "step 4 failed: <its own message>"
    rows: dict[int, RunStepRow] = field(default_factory=dict)  # held here, written by UPDATE


async def execute(ex: Execution) -> RunStatus:
    """Run every step not yet done; returns the run's final status (also stored)."""
    beat = asyncio.create_task(_heartbeat(ex))
    try:
        return await _loop(ex)
    except BaseException as exc:
        # Cancelled (a server shutting down) or opsbook itself failed: say so in the record.
        reason = (
            "cancelled" if isinstance(exc, asyncio.CancelledError) else f"opsbook failed: {exc!r}"
        )
        with contextlib.suppress(Exception):
            _finish(ex, RunStatus.INTERRUPTED, reason)
        raise
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def _loop(ex: Execution) -> RunStatus:
    db, clock = ex.runtime.db, ex.runtime.clock
    with db.read() as session:  # only this process changes them while the run is running
        ex.rows = {row.number: row for row in store.steps_of(session, ex.run_id)}
    for step in ex.steps:
        row = ex.rows[step.number]
        if StepStatus(row.status) in DONE_STEP:
            continue
        if ex.stop.is_set() or not _still_ours(ex):
            return _finish(ex, RunStatus.INTERRUPTED, ex.stop_reason)
        decision, reason = await _gate(ex, step, row)
        if decision is Decision.STOP and ex.stop.is_set():
            return _finish(ex, RunStatus.INTERRUPTED, ex.stop_reason)
        if decision is Decision.STOP:
            with db.write() as session:
                store.set_waiting(
                    session, clock, store.get_run(session, ex.run_id), step.number, reason
                )
            return RunStatus.WAITING
        result = (
            StepResult(StepStatus.SKIPPED, error="skipped by the operator")
            if decision is Decision.SKIP
            else await _run(ex, step, row.attempts + 1, confirmed=bool(reason))
        )
        if decision is Decision.SKIP:
            _record(ex, step.number, result, None)
        if result.status is StepStatus.INTERRUPTED:
            return _finish(ex, RunStatus.INTERRUPTED, ex.stop_reason)
        if not result.ok:
            ex.failures.append(f"step {step.number} {result.status.value}: {result.error}")
            if not ex.options.continue_on_error:
                return _finish(ex, RunStatus.FAILED, ex.failures[-1])
    status = RunStatus.FAILED if ex.failures else RunStatus.OK
    return _finish(ex, status, "; ".join(ex.failures))


async def _gate(ex: Execution, step: Step, row: RunStepRow) -> tuple[Decision, str]:
    """Whether `step` may run now; the text says why it needed confirmation (or waits)."""
    reasons = gate_reasons(step, ex.actions)
    person = needs_person(step)
    if not reasons and not person:
        return Decision.RUN, ""
    why = "; ".join(reasons) if reasons else "done by a person"
    if row.confirmed_by:
        return Decision.RUN, why
    if ex.options.yes:
        via = "--yes"
    elif ex.prompter is not None:
        decision = await _ask(ex, step, reasons, person=person)
        if ex.stop.is_set():
            return Decision.STOP, _waiting_reason(ex, step, why)
        if decision is not Decision.RUN:
            return decision, _waiting_reason(ex, step, why)
        via = "prompt"
    else:
        return Decision.STOP, _waiting_reason(ex, step, why)
    with ex.runtime.db.write() as session:
        store.confirm_step(
            session, ex.runtime.clock, ex.run_id, step.number, actor=ex.operator, via=via
        )
    row.confirmed_by = ex.operator
    return Decision.RUN, why


async def _ask(ex: Execution, step: Step, reasons: list[str], *, person: bool) -> Decision:
    """Ask the prompter in a daemon thread, so heartbeats go on and Ctrl-C is not held up."""
    assert ex.prompter is not None
    prompter = ex.prompter
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Decision] = loop.create_future()

    def ask() -> None:
        try:
            decision = prompter.manual(step) if person else prompter.gate(step, reasons)
        except (EOFError, KeyboardInterrupt):
            decision = Decision.STOP
        loop.call_soon_threadsafe(_settle, answer, decision)

    threading.Thread(target=ask, name=f"ask-step-{step.number}", daemon=True).start()
    stopped: asyncio.Future[Any] = asyncio.ensure_future(ex.stop.wait())
    try:
        await asyncio.wait({answer, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    return answer.result() if answer.done() else Decision.STOP


def _settle(future: asyncio.Future[Decision], decision: Decision) -> None:
    if not future.done():
        future.set_result(decision)


def _waiting_reason(ex: Execution, step: Step, why: str) -> str:
    verb = "must be confirmed when done" if needs_person(step) else "needs confirmation"
    return (
        f"step {step.number} ({step.title}) {verb}: {why}. Confirm it with "
        f"`opsbook runs resume {ex.run_id} --yes`, or run again with --yes"
    )


async def _run(ex: Execution, step: Step, attempt: int, *, confirmed: bool) -> StepResult:
    clock = ex.runtime.clock
    keeper = OutputKeeper(int(ex.runtime.config.settings.execution.output_limit))

    def emit(text: str) -> None:
        keeper.add(text)
        ex.listener.output(step.number, text)

    masker = OutputMasker(ex.redactor.redact, emit)
    flusher = asyncio.create_task(_flush_loop(ex, step.number, attempt, keeper))
    started = clock.monotonic()
    try:
        result = await run_step(_context(ex, step, masker, confirmed))
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
    masker.close()
    _keep_state(ex, result)
    last = keeper.flush()
    _record(
        ex,
        step.number,
        result,
        clock.monotonic() - started,
        size=masker.total_bytes,
        output=(attempt, last),
    )
    return result


def _context(ex: Execution, step: Step, masker: OutputMasker, confirmed: bool) -> StepContext:
    def on_start(pgid: int) -> None:
        """The step is starting (with process group `pgid`, 0 when it runs in-process)."""
        row = ex.rows[step.number]
        row.gate = gate_reasons(step, ex.actions)
        with ex.runtime.db.write() as session:
            store.start_step(session, ex.runtime.clock, row, pgid=pgid)
        ex.listener.step_started(row)

    return StepContext(
        step=step,
        timeout=step_timeout(step, ex.options, ex.runtime.config, ex.source),
        env=ex.env,
        cwd=ex.options.cwd,
        stop=ex.stop,
        out=masker,
        shell=ex.shell,
        on_start=on_start,
        target=ex.targets.get(step.number),
        config=ex.runtime.config,
        clock=ex.runtime.clock,
        redactor=ex.redactor,
        db=ex.runtime.db,
        actions=ex.actions,
        actor=ex.operator,
        confirmed=confirmed,
    )


def _keep_state(ex: Execution, result: StepResult) -> None:
    """A step's shell state carries on when it succeeded, or when the run goes on regardless."""
    if result.ok or (result.status is StepStatus.FAILED and ex.options.continue_on_error):
        ex.shell.commit_state()
    else:
        ex.shell.discard_state()


def _record(
    ex: Execution,
    number: int,
    result: StepResult,
    duration: float | None,
    *,
    size: int = 0,
    output: tuple[int, KeeperFlush] | None = None,
) -> None:
    """Store a step's result (and the last of its output) in one transaction, with the shell
    state it left when the vault shares it with other nodes."""
    me = liveness.me()
    with ex.runtime.db.write() as session:
        if ex.lost or not store.owned_by(session, ex.run_id, me.host, me.pid, lock=True):
            ex.lost = True
            return
        if ex.vault is not None:
            ex.vault.save_state(session, ex.run_id, ex.shell.state_file)
        if output is not None:
            store.append_output(
                session, ex.runtime.clock, ex.run_id, number, attempt=output[0], flush=output[1]
            )
        row = ex.rows[number]
        store.finish_step(
            session,
            ex.runtime.clock,
            row,
            result,
            duration=duration,
            output_bytes=size,
            actor=ex.operator,
            redactor=ex.redactor,
        )
    ex.listener.step_finished(row)


def _still_ours(ex: Execution) -> bool:
    """Before each step: does this process still own the run? After a long pause (SIGSTOP, a
    frozen VM) the cluster may have marked it interrupted and another node resumed it."""
    me = liveness.me()
    with ex.runtime.db.read() as session:
        if store.owned_by(session, ex.run_id, me.host, me.pid):
            return True
    ex.lost, ex.stop_reason = True, "taken over by another process"
    ex.stop.set()
    return False


def _finish(ex: Execution, status: RunStatus, reason: str) -> RunStatus:
    me = liveness.me()
    with ex.runtime.db.write() as session:
        if ex.lost or not store.owned_by(session, ex.run_id, me.host, me.pid, lock=True):
            ex.lost = True
            return RunStatus.INTERRUPTED  # the run's record is another process's now
        run = store.get_run(session, ex.run_id)
        if status is RunStatus.INTERRUPTED:
            store.mark_interrupted(session, ex.runtime.clock, run, reason)
        else:
            store.finish_run(session, ex.runtime.clock, run, status, reason)
    return status


async def _flush_loop(ex: Execution, number: int, attempt: int, keeper: OutputKeeper) -> None:
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        flush = keeper.flush()
        if flush.inserts or flush.deletes:
            with ex.runtime.db.write() as session:
                store.append_output(
                    session, ex.runtime.clock, ex.run_id, number, attempt=attempt, flush=flush
                )


async def _heartbeat(ex: Execution) -> None:
    interval = float(ex.runtime.config.settings.execution.heartbeat_interval)
    me = liveness.me()
    while True:
        with ex.runtime.db.write() as session:
            ours = store.owned_by(session, ex.run_id, me.host, me.pid)
            cancel = ours and store.heartbeat(session, ex.runtime.clock, ex.run_id)
        if not ours and not ex.stop.is_set():
            ex.lost, ex.stop_reason = True, "taken over by another process"
            ex.stop.set()
        if cancel and not ex.stop.is_set():
            ex.stop_reason = "cancelled"
            ex.stop.set()
        await asyncio.sleep(interval)
