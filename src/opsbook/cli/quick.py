"""The `opsbook` command's entry point, and the commands it runs without the CLI framework.

Typer, with the libraries its argument checks load, takes about 0.15 s to start: noticeable
when `opsbook logs scan` is timed against a shell pipeline over a log. So when the arguments
are `logs scan FILE... [options]`, every option spelled as the Typer command spells it and
every value plainly valid, the scan runs from here. Anything else (help, mistakes, unusual
forms, other commands) goes to the Typer app, which gives the usual messages.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from opsbook.errors import ConfigError, InputError, NotFoundError, OpsbookError

EXIT_OK, EXIT_PROBLEM, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = quick_command(args)
    if command is None:
        from opsbook.cli.app import main as run_typer

        return run_typer(args)
    return guarded(command)


def guarded(command: Callable[[], int]) -> int:
    """Run a command, mapping opsbook's errors to exit codes (printed once, no traceback)."""
    from opsbook.cli.output import error

    try:
        return command()
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


def exit_code_for(exc: OpsbookError) -> int:
    return EXIT_INPUT if isinstance(exc, InputError | NotFoundError) else EXIT_PROBLEM


class _Unclear(Exception):
    """The arguments are not plainly `logs scan` ones: Typer reads them."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Unclear(message)


def _logs_scan_parser() -> argparse.ArgumentParser:
    """The options of `opsbook logs scan` (tests/cli/test_startup.py checks they match)."""
    parser = _Parser(prog="opsbook logs scan", add_help=False, allow_abbrev=False)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--format", "-f", default="auto")
    parser.add_argument("--since", default=None)
    parser.add_argument("--threshold", default="50")
    parser.add_argument("--record", action="store_true", default=False)
    parser.add_argument("--no-record", action="store_false", dest="record")
    parser.add_argument("--config", "-c", default=None)
    parser.add_argument("--json", action="store_true", default=False)
    return parser


def quick_command(args: Sequence[str]) -> Callable[[], int] | None:
    """The command to run for `args` without Typer, or None when Typer should read them."""
    if list(args[:2]) != ["logs", "scan"] or {"-h", "--help"} & set(args):
        return None
    try:
        ns = _logs_scan_parser().parse_args(list(args[2:]))
    except _Unclear:
        return None
    if not re.fullmatch(r"-?[0-9]+", ns.threshold) or any(f.startswith("-") for f in ns.files):
        return None

    def scan() -> int:
        from opsbook.cli.logs_scan import scan_logs

        return scan_logs(
            [Path(f) for f in ns.files],
            ns.format,
            ns.since,
            int(ns.threshold),
            record=ns.record,
            config=Path(ns.config) if ns.config is not None else None,
            json=ns.json,
        )

    return scan
