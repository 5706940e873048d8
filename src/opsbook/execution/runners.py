"""Running one step of each kind and saying how it went. The engine decides what comes next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbook.actions import ActionContext, ActionRegistry
from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.errors import OpsbookError
from opsbook.execution.model import StepResult, StepStatus
from opsbook.execution.output import OutputMasker, last_error_line
from opsbook.execution.process import Ending, ProcessResult
from opsbook.execution.shell import ShellSession, ShellStep
from opsbook.execution.sql import SqlTarget, has_meta_commands, run_psql, run_sql
from opsbook.execution.steps import action_lines, errexit
from opsbook.runbook.model import Step, StepKind
from opsbook.secrets import Redactor
from opsbook.storage import Database
from opsbook.units import format_duration


@dataclass
class StepContext:
    """What a runner may use for one step."""

    step: Step
    timeout: float
    env: Mapping[str, str]
    cwd: str
    stop: asyncio.Event
    out: OutputMasker
    shell: ShellSession
    on_start: Callable[[int], None]
    target: SqlTarget | None
    config: Config
    clock: Clock
    redactor: Redactor
    db: Database
    actions: ActionRegistry | None
    actor: str
    confirmed: bool


async def run_step(ctx: StepContext) -> StepResult:
    """Run the step; `ctx.on_start` is called once as it starts (with its process group)."""
    kind = ctx.step.kind
    if kind == StepKind.SHELL:
        return await _shell(ctx)
    if kind == StepKind.SQL and ctx.target is not None and has_meta_commands(ctx.step.code):
        return await _psql(ctx, ctx.target)
    ctx.on_start(0)
    if kind == StepKind.SQL:
        return await _sql(ctx)
    if kind == StepKind.OPSBOOK:
        return await _actions(ctx)
    if kind == StepKind.REFERENCE:
        ctx.out.feed_text(ctx.step.code)
        return StepResult(StepStatus.SKIPPED, data={"reason": "reference code: shown, not run"})
    ctx.out.feed_text(ctx.step.text or ctx.step.code or ctx.step.title)
    return StepResult(StepStatus.OK, data={"reason": "done by a person, who confirmed it"})


async def _shell(ctx: StepContext) -> StepResult:
    tail: list[str] = []

    def keep(data: bytes) -> None:
        ctx.out.feed(data)
        tail.append(data.decode("utf-8", "replace"))
        del tail[:-20]

    shell_step = ShellStep(
        number=ctx.step.number,
        code=ctx.step.code,
        timeout=ctx.timeout,
        parameters=tuple(p.name for p in ctx.step.parameters),
        errexit=errexit(ctx.step),
    )
    result = await ctx.shell.run(
        shell_step, env=ctx.env, cwd=ctx.cwd, stop=ctx.stop, on_output=keep, on_start=ctx.on_start
    )
    return _from_process(result, ctx, ctx.redactor.redact("".join(tail)))


def _from_process(result: ProcessResult, ctx: StepContext, tail: str) -> StepResult:
    if result.ending is Ending.TIMED_OUT:
        message = f"timed out after {format_duration(ctx.timeout)}; its processes were killed"
        ctx.out.feed_text(f"\n[{message}]\n")
        return StepResult(StepStatus.TIMED_OUT, error=message)
    if result.ending is Ending.INTERRUPTED:
        ctx.out.feed_text("\n[interrupted; its processes were killed]\n")
        return StepResult(StepStatus.INTERRUPTED, error="interrupted")
    if result.exit_code == 0:
        return StepResult(StepStatus.OK, 0)
    reason = last_error_line(tail) or "no output"
    return StepResult(StepStatus.FAILED, result.exit_code, f"exit {result.exit_code}: {reason}")


async def _psql(ctx: StepContext, target: SqlTarget) -> StepResult:
    result = await run_psql(
        ctx.step.code,
        target,
        script=Path(ctx.shell.run_dir) / f"step-{ctx.step.number}.sql",
        env=dict(ctx.env),
        cwd=ctx.cwd,
        timeout=ctx.timeout,
        stop=ctx.stop,
        on_output=ctx.out.feed,
        on_start=ctx.on_start,
    )
    return result


async def _sql(ctx: StepContext) -> StepResult:
    if ctx.target is None:
        return StepResult(StepStatus.FAILED, error="no database connection for this SQL step")
    return await run_sql(
        ctx.step.code, ctx.target, timeout=ctx.timeout, stop=ctx.stop, emit=ctx.out.feed_text
    )


async def _actions(ctx: StepContext) -> StepResult:
    if ctx.actions is None:
        return StepResult(StepStatus.FAILED, error="no opsbook actions are available")
    action_ctx = ActionContext(
        config=ctx.config,
        clock=ctx.clock,
        redactor=ctx.redactor,
        db=ctx.db,
        env=ctx.env,
        yes=ctx.confirmed,
        actor=ctx.actor,
    )
    results: list[dict[str, Any]] = []
    for line in action_lines(ctx.step):
        ctx.out.feed_text(f"$ opsbook {line}\n")
        try:
            result = await asyncio.to_thread(ctx.actions.run, line, action_ctx)
        except OpsbookError as exc:
            ctx.out.feed_text(f"error: {exc}\n")
            return StepResult(StepStatus.FAILED, 1, str(exc), data={"actions": results})
        if result.output:
            ctx.out.feed_text(
                result.output if result.output.endswith("\n") else result.output + "\n"
            )
        results.append({"line": line, "ok": result.ok, "data": result.data})
        if not result.ok:
            error = last_error_line(result.output) or f"`{line}` did not succeed"
            return StepResult(StepStatus.FAILED, 1, error, data={"actions": results})
    return StepResult(StepStatus.OK, 0, data={"actions": results})
