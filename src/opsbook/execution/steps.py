"""What a step needs before it runs: its timeout, its gate, its database, its actions."""

from __future__ import annotations

from collections.abc import Mapping

from opsbook.actions import ActionRegistry
from opsbook.config import Config
from opsbook.connections import resolve_connection
from opsbook.errors import OpsbookError, SourceRef, UsageError
from opsbook.execution.model import RunOptions
from opsbook.execution.sql import SqlTarget
from opsbook.runbook.model import Step, StepKind
from opsbook.units import parse_duration

TRUE_WORDS = {"true", "yes", "1", "on"}
PERSON_KINDS = frozenset({StepKind.MANUAL, StepKind.CHECKLIST})


def step_timeout(step: Step, options: RunOptions, config: Config, source: str = "") -> float:
    """Seconds: `--timeout`, else the block's `timeout=`, else the configured default."""
    if options.timeout:
        return options.timeout
    if step.attrs.get("timeout"):
        try:
            return parse_duration(step.attrs["timeout"])
        except ValueError as exc:
            raise UsageError(
                f"step {step.number}: timeout={step.attrs['timeout']!r}: {exc}",
                source=SourceRef(source, step.block_line or step.line) if source else None,
            ) from None
    settings = config.settings.execution
    return settings.watch_timeout if step.interactive else settings.default_timeout


def action_lines(step: Step) -> list[str]:
    lines = (line.strip() for line in step.code.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def gate_reasons(step: Step, actions: ActionRegistry | None) -> list[str]:
    """Why a step must be confirmed before it runs; empty when it need not be."""
    reasons = list(step.danger)
    if step.attrs.get("confirm", "").lower() in TRUE_WORDS:
        reasons.append("marked confirm=true")
    if step.kind == StepKind.OPSBOOK and actions is not None:
        for line in action_lines(step):
            try:
                action, _ = actions.resolve(line)
            except OpsbookError:
                continue
            if action.dangerous:
                reasons.append(f"opsbook action `{action.name}` changes things")
    return reasons


def needs_person(step: Step) -> bool:
    """Manual and checklist steps are done by a person, who confirms them."""
    return step.kind in PERSON_KINDS


def errexit(step: Step) -> bool:
    return step.attrs.get("errexit", "true").lower() in TRUE_WORDS


def sql_target(
    step: Step,
    config: Config,
    *,
    connections: Mapping[str, str],
    default: str | None,
    env: Mapping[str, str],
) -> SqlTarget:
    """The database a SQL step runs against (raises NotFoundError when there is none)."""
    name = step.attrs.get("connection") or step.attrs.get("db") or default
    if name and name in connections:
        return SqlTarget(connections[name], _default_statement_timeout(config))
    if not name and len(connections) == 1:
        return SqlTarget(next(iter(connections.values())), _default_statement_timeout(config))
    conn = resolve_connection(config, name, env)
    return SqlTarget(conn.url, conn.statement_timeout, conn.read_only)


def _default_statement_timeout(config: Config) -> float:
    return float(config.settings.execution.default_timeout)
