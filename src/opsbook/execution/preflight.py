"""Preflight: everything a run needs, checked before anything runs.

Unresolved variables (each with the steps and lines that use it), parameters nobody answered,
tools missing from PATH, databases that cannot be reached and actions that do not exist. A run
with any problem does not start.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psycopg

from opsbook.actions import ActionRegistry
from opsbook.config import Config
from opsbook.errors import OpsbookError
from opsbook.execution.inputs import names_set_by
from opsbook.execution.sql import SqlTarget, has_meta_commands
from opsbook.execution.steps import action_lines, sql_target
from opsbook.runbook.model import Step, StepKind
from opsbook.secrets import Redactor

CONNECT_CHECK_SECONDS = 5
_FUNCTION = re.compile(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{?")


@dataclass(frozen=True)
class Problem:
    kind: str  # variable, parameter, tool, connection, action
    name: str
    message: str
    steps: tuple[int, ...] = ()
    lines: tuple[int, ...] = ()
    secret: bool = False  # a parameter whose answer must not be echoed (`read -s`)


@dataclass
class Preflight:
    problems: list[Problem] = field(default_factory=list)
    targets: dict[int, SqlTarget] = field(default_factory=dict)  # step number -> database

    @property
    def ok(self) -> bool:
        return not self.problems

    def of_kind(self, kind: str) -> list[Problem]:
        return [p for p in self.problems if p.kind == kind]


@dataclass(frozen=True)
class PreflightInputs:
    config: Config
    environ: Mapping[str, str]  # the runner's environment
    given: Mapping[str, str]  # --var, env file, answered prompts
    connections: Mapping[str, str] = field(default_factory=dict)
    default_connection: str | None = None
    actions: ActionRegistry | None = None
    saved_names: frozenset[str] = frozenset()  # variables in a resumed run's saved state
    check_connections: bool = True


def check(steps: Sequence[Step], inputs: PreflightInputs, redactor: Redactor) -> Preflight:
    result = Preflight()
    env = {**inputs.environ, **inputs.given}
    _variables(steps, inputs, result)
    _tools(steps, env, result)
    _databases(steps, inputs, env, result, redactor)
    _actions(steps, inputs.actions, result)
    return result


def _variables(steps: Sequence[Step], inputs: PreflightInputs, result: Preflight) -> None:
    known = set(inputs.environ) | set(inputs.given) | set(inputs.saved_names)
    missing: dict[str, list[Step]] = {}
    asked: dict[str, tuple[str, list[Step]]] = {}
    for step in steps:
        for parameter in step.parameters:
            if parameter.name not in known:
                asked.setdefault(parameter.name, (parameter.prompt, []))[1].append(step)
        for name in step.variables:
            if name not in known and name not in asked:
                missing.setdefault(name, []).append(step)
        known |= set(step.assigns)
        if step.kind == StepKind.SHELL:
            known |= names_set_by(step.code)
        known |= {p.name for p in step.parameters}
    for name, (prompt, users) in asked.items():
        secret = any(p.secret for s in users for p in s.parameters if p.name == name)
        result.problems.append(Problem("parameter", name, prompt, *_where(users), secret=secret))
    for name, users in missing.items():
        result.problems.append(Problem("variable", name, "not set", *_where(users)))


def _tools(steps: Sequence[Step], env: Mapping[str, str], result: Preflight) -> None:
    defined: set[str] = set()
    missing: dict[str, list[Step]] = {}
    for step in steps:
        needed = list(step.tools) if step.kind == StepKind.SHELL else []
        if step.kind == StepKind.SQL and has_meta_commands(step.code):
            needed.append("psql")
        for tool in needed:
            if tool not in defined and shutil.which(tool, path=env.get("PATH")) is None:
                missing.setdefault(tool, []).append(step)
        defined |= set(_FUNCTION.findall(step.code))
    for tool, users in missing.items():
        result.problems.append(Problem("tool", tool, "not found on PATH", *_where(users)))


def _databases(
    steps: Sequence[Step],
    inputs: PreflightInputs,
    env: Mapping[str, str],
    result: Preflight,
    redactor: Redactor,
) -> None:
    checked: dict[str, str] = {}  # url -> problem ("" when reachable)
    for step in (s for s in steps if s.kind == StepKind.SQL):
        try:
            target = sql_target(
                step,
                inputs.config,
                connections=inputs.connections,
                default=inputs.default_connection,
                env=env,
            )
        except OpsbookError as exc:
            result.problems.append(Problem("connection", "", exc.message, *_where([step])))
            continue
        result.targets[step.number] = target
        if not inputs.check_connections:
            continue
        if target.url not in checked:
            checked[target.url] = _reach(target.url)
        if checked[target.url]:
            shown = redactor.redact(target.url)
            result.problems.append(
                Problem("connection", shown, checked[target.url], *_where([step]))
            )


def _reach(url: str) -> str:
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_CHECK_SECONDS):
            return ""
    except psycopg.Error as exc:
        return next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)


def _actions(steps: Sequence[Step], actions: ActionRegistry | None, result: Preflight) -> None:
    for step in (s for s in steps if s.kind == StepKind.OPSBOOK):
        for line in action_lines(step):
            if actions is None:
                result.problems.append(
                    Problem("action", line, "no opsbook actions are available", *_where([step]))
                )
                continue
            try:
                actions.resolve(line)
            except OpsbookError as exc:
                result.problems.append(Problem("action", line, exc.message, *_where([step])))


def _where(steps: Sequence[Step]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(s.number for s in steps), tuple(s.line for s in steps)
