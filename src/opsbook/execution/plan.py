"""The dry-run plan: what each step would do, with what, and who must confirm it. Runs nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsbook.actions import ActionRegistry
from opsbook.config import Config
from opsbook.execution.inputs import names_set_by
from opsbook.execution.model import RunOptions
from opsbook.execution.sql import SqlTarget
from opsbook.execution.steps import gate_reasons, needs_person, step_timeout
from opsbook.runbook.model import Step, StepKind
from opsbook.secrets import MASK, Redactor

UNSET = "(not set)"
FROM_EARLIER_STEP = "(set by an earlier step)"


@dataclass
class PlanStep:
    number: int
    title: str
    part: str
    kind: str
    line: int
    action: str  # "run", "show" (reference code), "confirm" (done by a person)
    timeout_seconds: float | None
    gate: list[str]
    confirmation: str  # "", "prompt", "--yes", "stops here and waits"
    target: str = ""  # the database of a SQL step, password masked
    variables: dict[str, str] = field(default_factory=dict)  # values masked
    tools: list[str] = field(default_factory=list)
    interactive: list[str] = field(default_factory=list)
    code: str = ""

    def to_data(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PlanContext:
    config: Config
    options: RunOptions
    env: Mapping[str, str]  # runner's environment plus the given values
    secret_names: frozenset[str]
    targets: Mapping[int, SqlTarget]
    actions: ActionRegistry | None
    interactive: bool
    source: str = ""


def build(steps: Sequence[Step], ctx: PlanContext, redactor: Redactor) -> list[PlanStep]:
    plan: list[PlanStep] = []
    set_earlier: set[str] = set()
    for step in steps:
        gate = gate_reasons(step, ctx.actions)
        runs = step.kind not in {StepKind.REFERENCE, StepKind.MANUAL, StepKind.CHECKLIST}
        target = ctx.targets.get(step.number)
        plan.append(
            PlanStep(
                number=step.number,
                title=step.title,
                part=step.part,
                kind=step.kind,
                line=step.line,
                action=_action(step),
                timeout_seconds=step_timeout(step, ctx.options, ctx.config, ctx.source)
                if runs
                else None,
                gate=gate,
                confirmation=_confirmation(bool(gate) or needs_person(step), ctx),
                target=redactor.redact(target.url) if target else "",
                variables=_values(step, ctx, set_earlier),
                tools=list(step.tools),
                interactive=list(step.interactive),
                code=redactor.redact(step.code),
            )
        )
        set_earlier |= set(step.assigns)
        if step.kind == StepKind.SHELL:
            set_earlier |= names_set_by(step.code)
    return plan


def _action(step: Step) -> str:
    if step.kind == StepKind.REFERENCE:
        return "show"
    return "confirm" if needs_person(step) else "run"


def _confirmation(needed: bool, ctx: PlanContext) -> str:
    if not needed:
        return ""
    if ctx.options.yes:
        return "--yes"
    return "prompt" if ctx.interactive else "stops here and waits"


def _values(step: Step, ctx: PlanContext, set_earlier: set[str]) -> dict[str, str]:
    names = [*step.variables, *(p.name for p in step.parameters)]
    values: dict[str, str] = {}
    for name in dict.fromkeys(names):
        if name in ctx.env:
            secret = name in ctx.secret_names
            values[name] = MASK if secret else ctx.env[name]
        else:
            values[name] = FROM_EARLIER_STEP if name in set_earlier else UNSET
    return values
