"""Built-in actions that runbooks (```opsbook blocks), schedules and the CLI can call by name.

The registry knows nothing of the domains: the composition root (`runtime.register_actions`)
registers each domain's actions, and callers receive the registry, so `execution` can run an
`opsbook` step without importing the domains that implement it.

A line such as `pg vacuum --analyze songs` is split shell-style; the longest registered name
that prefixes it wins (`pg vacuum`), and the rest are its arguments.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsbook.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from opsbook.clock import Clock
    from opsbook.config import Config
    from opsbook.secrets import Redactor
    from opsbook.storage import Database


@dataclass
class ActionContext:
    """What an action may use. `yes` is the operator's confirmation for dangerous actions."""

    config: Config
    clock: Clock
    redactor: Redactor
    db: Database | None = None  # the opsbook store, when the caller has one open
    env: Mapping[str, str] = field(default_factory=dict)  # the run's variables
    dry_run: bool = False
    yes: bool = False
    actor: str = "opsbook"


@dataclass
class ActionResult:
    ok: bool
    output: str = ""  # human-readable text, as printed by the matching CLI command
    data: dict[str, Any] = field(default_factory=dict)  # the same as the command's --json


ActionFn = Callable[[list[str], ActionContext], ActionResult]


@dataclass(frozen=True)
class Action:
    name: str  # "pg vacuum"
    run: ActionFn
    summary: str
    dangerous: bool = False  # needs confirmation (ctx.yes) before it changes anything


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, action: Action) -> None:
        if action.name in self._actions:
            raise ValueError(f"action {action.name!r} is registered twice")
        self._actions[action.name] = action

    def names(self) -> list[str]:
        return sorted(self._actions)

    def resolve(self, line: str) -> tuple[Action, list[str]]:
        """The action a line names and its arguments."""
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise UsageError(f"cannot read action line {line!r}: {exc}") from None
        for size in range(len(words), 0, -1):
            action = self._actions.get(" ".join(words[:size]))
            if action is not None:
                return action, words[size:]
        known = ", ".join(self.names()) or "none"
        raise NotFoundError(f"unknown opsbook action {line.strip()!r} (known: {known})")

    def run(self, line: str, ctx: ActionContext) -> ActionResult:
        action, args = self.resolve(line)
        return action.run(args, ctx)
