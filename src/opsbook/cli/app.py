"""The `opsbook` command: registers every command group and maps errors to exit codes.

Exit codes: 0 ok; 1 a problem was found or a step failed; 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
import typer.core
import typer.main

from opsbook import __version__
from opsbook.cli.quick import EXIT_OK, EXIT_PROBLEM, guarded

COMMANDS = {
    "check": "check",
    "watch": "check",
    "run": "run",
    "parse": "runbook",
    "lint": "runbook",
    "import": "runbook",
    "serve": "serve",
    "alerts": "alerts",
    "backup": "backup",
    "cluster": "cluster",
    "db": "db",
    "incident": "incident",
    "jobs": "jobs",
    "logs": "logs",
    "notify": "notify",
    "pg": "pg",
    "rules": "rules",
    "runs": "run",
    "user": "users",
    "token": "users",
}
"""Each top-level command, in the order help lists them, and the module (of
opsbook.cli.commands) that registers it."""


class _LazyGroup(typer.core.TyperGroup):
    """The root command: a command group's module is imported only when it is needed.

    `opsbook logs scan` then loads the log scanner, not the server, the store and every other
    group (their imports took most of a second). Help and unknown names load them all.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: set[str] = set()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            module = COMMANDS.get(cmd_name)
            self._load([module] if module else list(COMMANDS.values()))
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        self._load(list(COMMANDS.values()))
        return super().list_commands(ctx)

    def _load(self, modules: list[str]) -> None:
        for name in dict.fromkeys(modules):
            if name in self._loaded:
                continue
            self._loaded.add(name)
            group = typer.Typer()
            importlib.import_module(f"opsbook.cli.commands.{name}").register(group)
            self.commands.update(typer.main.get_group(group).commands)
        order = {name: i for i, name in enumerate(COMMANDS)}
        self.commands = dict(sorted(self.commands.items(), key=lambda kv: order.get(kv[0], -1)))


app = typer.Typer(
    name="opsbook",
    cls=_LazyGroup,
    help="Makes Markdown runbooks live: parse, run, watch, alert, respond, maintain and learn.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opsbook {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Makes Markdown runbooks live: parse, run, watch, alert, respond, maintain and learn."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line through Typer; returns the exit code.

    Commands signal their outcome with `typer.Exit(code)`; usage errors exit 2 with the usage
    line; opsbook's own errors are printed once, without a traceback.
    """

    def run() -> int:
        try:
            app(args=argv, prog_name="opsbook")
        except SystemExit as exc:
            code = exc.code
            return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_PROBLEM)
        return EXIT_OK

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
