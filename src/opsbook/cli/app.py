"""The `opsbook` command: registers every command group and maps errors to exit codes.

Exit codes: 0 ok; 1 a problem was found or a step failed; 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from opsbook import __version__
from opsbook.cli.commands import (
    alerts,
    backup,
    check,
    cluster,
    db,
    incident,
    jobs,
    logs,
    notify,
    pg,
    rules,
    run,
    runbook,
    serve,
    users,
)
from opsbook.cli.output import error
from opsbook.errors import ConfigError, InputError, NotFoundError, OpsbookError

app = typer.Typer(
    name="opsbook",
    help="Makes Markdown runbooks live: parse, run, watch, alert, respond, maintain and learn.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for _group in (
    alerts,
    backup,
    check,
    cluster,
    db,
    incident,
    jobs,
    logs,
    notify,
    pg,
    rules,
    run,
    runbook,
    serve,
    users,
):
    _group.register(app)


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


EXIT_OK, EXIT_PROBLEM, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_code_for(exc: OpsbookError) -> int:
    return EXIT_INPUT if isinstance(exc, InputError | NotFoundError) else EXIT_PROBLEM


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it).

    Commands signal their outcome with `typer.Exit(code)`; usage errors exit 2 with the usage
    line; opsbook's own errors are printed once, without a traceback.
    """
    try:
        app(args=argv, prog_name="opsbook")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_PROBLEM)
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    except ConfigError as exc:
        for ref, text in exc.problems:
            error(f"{ref}: {text}" if ref else text)
        return EXIT_INPUT
    except OpsbookError as exc:
        error(str(exc))
        return exit_code_for(exc)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
