from __future__ import annotations

import pytest

from opsbook.actions import Action, ActionContext, ActionRegistry, ActionResult
from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.errors import NotFoundError
from opsbook.secrets import Redactor


def echo(args: list[str], ctx: ActionContext) -> ActionResult:
    return ActionResult(ok=True, output=" ".join(args))


def test_the_longest_registered_name_wins() -> None:
    registry = ActionRegistry()
    registry.register(Action("pg", echo, "all of pg"))
    registry.register(Action("pg vacuum", echo, "vacuum"))
    action, args = registry.resolve("pg vacuum --analyze 'my table'")
    assert (action.name, args) == ("pg vacuum", ["--analyze", "my table"])


def test_an_unknown_action_names_the_known_ones() -> None:
    registry = ActionRegistry()
    registry.register(Action("pg vacuum", echo, "vacuum"))
    with pytest.raises(NotFoundError, match=r"known: pg vacuum"):
        registry.resolve("pg explode")


def test_run_passes_arguments_and_context() -> None:
    registry = ActionRegistry()
    registry.register(Action("say", echo, "says"))
    ctx = ActionContext(config=config_from_data({}), clock=FakeClock(), redactor=Redactor())
    assert registry.run("say hello world", ctx).output == "hello world"
