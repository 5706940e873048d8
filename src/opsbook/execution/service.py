"""The API of runs, for the CLI, the web server, the scheduler and incidents.

    prepare(runtime, request, ...)      preflight and plan; nothing runs, nothing is stored
    await start(runtime, request, ...)  store the run, then run it; returns a RunOutcome
    await resume(runtime, run_id, ...)  continue from the first step not ok (confirmations kept)
    get(session, run_id)                the run as JSON-ready data (docs/runs.md)
    list_runs(session, ...)             newest first
    confirm(session, clock, run_id, n)  confirm a waiting step; a resume then runs it
    cancel(session, clock, run_id)      ask the process running it to stop (within a heartbeat)
    output_since(session, run_id, id)   the live output feed, for followers in other processes
    reconcile(session, clock, config)   mark runs whose runner died as interrupted

Functions that take a session flush and never commit. `start` and `resume` run for as long as the
run does and commit each change as it happens, so other processes can follow.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from opsbook.actions import ActionRegistry
from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.errors import ConflictError, InputError, UnavailableError
from opsbook.execution import engine, liveness, store
from opsbook.execution.engine import Prompter, RunListener
from opsbook.execution.inputs import masked, secret_names, steps_fingerprint
from opsbook.execution.model import RunOptions, RunRequest, RunStatus
from opsbook.execution.plan import PlanContext, PlanStep, build
from opsbook.execution.preflight import Preflight, PreflightInputs, check
from opsbook.execution.schema import run_json, run_summary_json
from opsbook.execution.select import find
from opsbook.execution.shell import ShellSession
from opsbook.execution.tables import RunRow, RunStepRow
from opsbook.execution.vault import StateVault
from opsbook.journal import service as journal
from opsbook.runbook.model import Runbook
from opsbook.runtime import Runtime
from opsbook.secrets import Redactor

RESUMABLE = (RunStatus.FAILED, RunStatus.WAITING, RunStatus.INTERRUPTED)


class PreflightFailed(InputError):
    """The run cannot start: `preflight.problems` says what to supply."""

    def __init__(self, preflight: Preflight) -> None:
        self.preflight = preflight
        names = ", ".join(f"{p.kind} {p.name}".strip() for p in preflight.problems)
        super().__init__(f"preflight failed: {names}")


@dataclass
class Prepared:
    request: RunRequest
    preflight: Preflight
    plan: list[PlanStep]
    redactor: Redactor
    env: dict[str, str]  # what every step starts with
    secret_names: frozenset[str]


@dataclass
class RunOutcome:
    run_id: int
    status: RunStatus


@dataclass
class Followers:
    """Who follows a run as it happens, and how it can be stopped."""

    listener: RunListener | None = None
    prompter: Prompter | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def prepare(
    runtime: Runtime,
    request: RunRequest,
    *,
    actions: ActionRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    interactive: bool = False,
    saved_names: frozenset[str] = frozenset(),
    check_connections: bool = True,
) -> Prepared:
    """Preflight and plan for `request`; runs nothing and stores nothing."""
    environ = dict(os.environ if environ is None else environ)
    env = {**environ, **request.variables}
    secrets = request.secret_names | secret_names(env, runtime.config.settings.secrets)
    redactor = Redactor(runtime.redactor.values)
    redactor.add(*(env[name] for name in secrets if name in env))
    inputs = PreflightInputs(
        config=runtime.config,
        environ=environ,
        given=request.variables,
        connections=request.connections,
        default_connection=request.options.default_connection,
        actions=actions,
        saved_names=saved_names,
        check_connections=check_connections,
    )
    preflight = check(request.steps, inputs, redactor)
    context = PlanContext(
        config=runtime.config,
        options=request.options,
        env=env,
        secret_names=secrets,
        targets=preflight.targets,
        actions=actions,
        interactive=interactive,
        source=request.runbook.source,
    )
    plan = build(request.steps, context, redactor)
    return Prepared(request, preflight, plan, redactor, env, secrets)


async def start(
    runtime: Runtime,
    request: RunRequest,
    *,
    actions: ActionRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    followers: Followers | None = None,
    prepared: Prepared | None = None,
) -> RunOutcome:
    """Store a new run of `request` and run it. Raises PreflightFailed before storing anything."""
    followers = followers or Followers()
    if prepared is None:
        prepared = prepare(
            runtime,
            request,
            actions=actions,
            environ=environ,
            interactive=followers.prompter is not None,
        )
    if not prepared.preflight.ok:
        raise PreflightFailed(prepared.preflight)
    with runtime.db.write() as session:
        run = _create(session, runtime, prepared)
    return await _execute(runtime, run, prepared, actions, followers)


def _create(session: Session, runtime: Runtime, prepared: Prepared) -> RunRow:
    request, clock = prepared.request, runtime.clock
    owner = liveness.me()
    options = {**request.options.to_data(), "steps": [s.number for s in request.steps]}
    run = RunRow(
        status=RunStatus.RUNNING,
        runbook_path=str(Path(request.runbook.source).resolve()),
        runbook_sha256=request.runbook.sha256,
        procedure=request.procedure.title,
        procedure_slug=request.procedure.slug,
        part=request.part,
        procedure_sha256=steps_fingerprint(request.steps),
        operator=request.operator,
        variables=masked(request.variables, prepared.secret_names),
        secret_names=sorted(prepared.secret_names & set(request.variables)),
        connections={k: prepared.redactor.redact(v) for k, v in request.connections.items()},
        options=options,
        owner_host=owner.host,
        owner_pid=owner.pid,
        owner_started=owner.started,
        heartbeat_at=clock.now(),
        started_at=clock.now(),
    )
    session.add(run)
    session.flush()
    run.run_dir = str(runtime.config.data_dir / "runs" / str(run.id))
    for step, planned in zip(request.steps, prepared.plan, strict=True):
        session.add(
            RunStepRow(
                run_id=run.id,
                number=step.number,
                title=step.title,
                part=step.part,
                kind=step.kind,
                line=step.line,
                status="pending",
                gate=planned.gate,
                data={},
            )
        )
    session.flush()
    journal.record(
        session,
        clock,
        actor=request.operator,
        action="run.start",
        subject=store.subject(run.id),
        summary=f"run {run.id} of {run.procedure}" + (f"/{run.part}" if run.part else ""),
        details={
            "runbook": run.runbook_path,
            "steps": options["steps"],
            "variables": run.variables,
        },
        redactor=prepared.redactor,
    )
    return run


async def _execute(
    runtime: Runtime,
    run: RunRow,
    prepared: Prepared,
    actions: ActionRegistry | None,
    followers: Followers,
    *,
    overrides: tuple[str, ...] = (),
) -> RunOutcome:
    request = prepared.request
    shell = ShellSession(Path(run.run_dir), bash=runtime.config.settings.execution.shell)
    shell.prepare()
    shell.save_inputs(request.variables)
    shell.overrides = overrides
    vault = StateVault.from_config(runtime.config, runtime.clock)
    if vault is not None:
        with runtime.db.write() as session:
            vault.save_inputs(session, run.id, shell.saved_inputs())
    execution = engine.Execution(
        runtime=runtime,
        run_id=run.id,
        steps=request.steps,
        env=prepared.env,
        options=request.options,
        shell=shell,
        redactor=prepared.redactor,
        targets=prepared.preflight.targets,
        operator=request.operator,
        source=request.runbook.source,
        actions=actions,
        prompter=followers.prompter,
        listener=followers.listener or engine.QuietListener(),
        stop=followers.stop,
        vault=vault,
    )
    status = await engine.execute(execution)
    return RunOutcome(run.id, status)


async def resume(
    runtime: Runtime,
    run_id: int,
    *,
    runbook: Runbook | None = None,
    variables: Mapping[str, str] | None = None,
    operator: str = "opsbook",
    yes: bool = False,
    force: bool = False,
    actions: ActionRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    followers: Followers | None = None,
) -> RunOutcome:
    """Continue run `run_id` from its first step that is not ok, with its saved shell state."""
    followers = followers or Followers()
    with runtime.db.write() as session:
        reconcile(session, runtime.clock, runtime.config)
        run = store.get_run(session, run_id)
        _check_resumable(run)
    run_dir = _local_run_dir(runtime, run)
    shell = ShellSession(run_dir)
    given = {**shell.saved_inputs(), **(variables or {})}
    request = _request_again(run, runbook, given, operator=operator, yes=yes, force=force)
    prepared = prepare(
        runtime,
        request,
        actions=actions,
        environ=environ,
        interactive=followers.prompter is not None,
        saved_names=frozenset(shell.saved_names()),
    )
    if not prepared.preflight.ok:
        raise PreflightFailed(prepared.preflight)
    owner = liveness.me()
    with runtime.db.write() as session:
        if not store.claim(
            session,
            runtime.clock,
            run_id,
            host=owner.host,
            pid=owner.pid,
            started=owner.started,
            from_statuses=RESUMABLE,
        ):
            raise ConflictError(f"run {run_id} was resumed by another process first")
        store.get_run(session, run_id).run_dir = str(run_dir)
        journal.record(
            session,
            runtime.clock,
            actor=operator,
            action="run.resume",
            subject=store.subject(run_id),
            summary=f"run {run_id} resumed",
            details={"yes": yes, "force": force, "given": sorted(variables or {})},
        )
        run = store.get_run(session, run_id)
    return await _execute(
        runtime, run, prepared, actions, followers, overrides=tuple(variables or {})
    )


def _local_run_dir(runtime: Runtime, run: RunRow) -> Path:
    """The run folder on this machine. A run that ran on another machine gets its shell state
    and given values from the store (`cluster.state_key`), into this node's data folder."""
    here = Path(run.run_dir)
    if run.owner_host == socket.gethostname():
        return here
    vault = StateVault.from_config(runtime.config, runtime.clock)
    if vault is None:
        if (here / "inputs.json").exists():
            return here  # a folder this machine shares with the other one
        raise ConflictError(
            f"run {run.id} ran on {run.owner_host} and its shell state is there; resume it on "
            f"{run.owner_host}, or set cluster.state_key (the same on every node) so any node "
            "can resume runs"
        )
    local = runtime.config.data_dir / "runs" / str(run.id)
    with runtime.db.read() as session:
        if not vault.restore(session, run.id, local):
            raise ConflictError(
                f"run {run.id} ran on {run.owner_host} before cluster.state_key was set; its "
                f"shell state is there: resume it on {run.owner_host}"
            )
    return local


def _check_resumable(run: RunRow) -> None:
    if run.status == RunStatus.RUNNING:
        raise ConflictError(
            f"run {run.id} is still running ({run.owner_host}:{run.owner_pid}); cancel it first"
        )
    if run.status == RunStatus.OK:
        raise ConflictError(f"run {run.id} finished ok; there is nothing to resume")


def _request_again(
    run: RunRow,
    runbook: Runbook | None,
    given: Mapping[str, str],
    *,
    operator: str,
    yes: bool,
    force: bool,
) -> RunRequest:
    if runbook is None:
        runbook = _parse(run.runbook_path)
    selection = find(
        runbook, f"{run.procedure_slug}/{run.part}" if run.part else run.procedure_slug
    )
    numbers = set(run.options.get("steps", []))
    steps = tuple(s for s in selection.steps if s.number in numbers)
    if steps_fingerprint(steps) != run.procedure_sha256 and not force:
        raise ConflictError(
            f"{run.procedure!r} changed in {run.runbook_path} since run {run.id} started; "
            "review the change, then resume with --force"
        )
    secrets = set(run.secret_names)
    kept = {k: str(v) for k, v in run.variables.items() if k not in secrets}
    stored = run.options
    options = RunOptions(
        timeout=stored.get("timeout"),
        continue_on_error=bool(stored.get("continue_on_error")),
        yes=yes,
        default_connection=stored.get("default_connection"),
        cwd=str(stored.get("cwd") or ""),
    )
    return RunRequest(
        runbook=runbook,
        procedure=selection.procedure,
        steps=steps,
        part=run.part,
        variables={**kept, **given},
        secret_names=frozenset(secrets),
        operator=operator,
        options=options,
    )


def _parse(path: str) -> Runbook:
    try:
        from opsbook.runbook.parse import parse_file  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UnavailableError("the runbook parser is not available in this build") from None
    runbook: Runbook = parse_file(path)
    return runbook


def get(session: Session, run_id: int, *, output: bool = True) -> dict[str, Any]:
    """Run `run_id` with its steps (and each step's kept output) as JSON-ready data."""
    run = store.get_run(session, run_id)
    steps = store.steps_of(session, run_id)
    outputs = (
        {s.number: store.step_output(session, run_id, s.number) for s in steps if s.attempts}
        if output
        else None
    )
    return run_json(run, steps, outputs)


def list_runs(
    session: Session, *, limit: int = 50, status: str | None = None
) -> list[dict[str, Any]]:
    return [run_summary_json(r) for r in store.list_runs(session, limit=limit, status=status)]


def confirm(session: Session, clock: Clock, run_id: int, number: int, *, actor: str) -> None:
    """Confirm waiting step `number` of run `run_id` for `actor`; resume the run to run it."""
    step = store.get_step(session, run_id, number)
    if step.status != "waiting":
        raise ConflictError(f"step {number} of run {run_id} is {step.status}, not waiting")
    store.confirm_step(session, clock, run_id, number, actor=actor, via="confirmed")


def cancel(session: Session, clock: Clock, run_id: int, *, actor: str) -> None:
    run = store.get_run(session, run_id)
    if run.status != RunStatus.RUNNING:
        raise ConflictError(f"run {run_id} is {run.status}, not running")
    store.request_cancel(session, clock, run_id, actor=actor)


def output_since(
    session: Session, run_id: int, after_id: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    return store.output_since(session, run_id, after_id, limit)


def reconcile(
    session: Session,
    clock: Clock,
    config: Config,
    *,
    dead_owners: frozenset[tuple[str, int]] = frozenset(),
) -> list[int]:
    """Mark runs whose runner died (or whose cluster node is dead, `dead_owners`) as
    interrupted, ending their leftover step processes on this machine."""
    stale_after = 6 * float(config.settings.execution.heartbeat_interval)
    return liveness.reconcile(session, clock, stale_after=stale_after, dead_owners=dead_owners)
