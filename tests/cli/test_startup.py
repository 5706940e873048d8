"""The root command loads a command group's module only when that group is used."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import opsbook.cli.commands
from opsbook.cli import quick
from opsbook.cli.app import COMMANDS
from opsbook.cli.commands import logs
from opsbook.logs import native
from tests.logs.builder import access


def _registered_by(module_name: str) -> list[str]:
    group = typer.Typer()
    importlib.import_module(f"opsbook.cli.commands.{module_name}").register(group)
    return list(typer.main.get_group(group).commands)


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    modules = [m.name for m in pkgutil.iter_modules(opsbook.cli.commands.__path__)]
    registered = {
        command: module
        for module in modules
        if hasattr(importlib.import_module(f"opsbook.cli.commands.{module}"), "register")
        for command in _registered_by(module)
    }
    assert registered == COMMANDS


def _log(folder: Path) -> Path:
    log = folder / "access.log"
    lines = [access(), access("10.0.0.2", "GET /../../etc/passwd HTTP/1.1", 404)]
    log.write_text("\n".join(lines) + "\n")
    return log


def test_logs_scan_starts_without_the_cli_framework_the_server_or_the_store(
    tmp_path: Path,
) -> None:
    program = (
        "import json, sys\n"
        "from opsbook.cli.quick import main\n"
        "code = main(['logs', 'scan', sys.argv[1], '--json'])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(_log(tmp_path))],
        capture_output=True,
        text=True,
        check=True,
    )
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 1  # an attack was found
    assert '"total": 2' in done.stdout
    loaded = {name.split(".")[0] for name in modules} | {
        name for name in modules if name.startswith("opsbook.")
    }
    unwanted = {"typer", "pydantic", "sqlalchemy", "fastapi", "opsbook.web"}
    if native.available():  # else the NumPy engine scans
        unwanted |= {"numpy", "polars"}
    assert not loaded & unwanted


def test_the_quick_logs_scan_takes_the_options_of_the_typer_command() -> None:
    command = typer.main.get_group(logs.app).commands["scan"]
    typer_options = {
        (name, str(p.default)) for p in command.params for name in [*p.opts, *p.secondary_opts]
    }
    parser = quick._logs_scan_parser()
    quick_options = {
        (name, str(action.default if name != "--no-record" else False))
        for action in parser._actions
        for name in action.option_strings or [action.dest]
    }
    assert quick_options == typer_options


@pytest.mark.parametrize(
    "options",
    [
        ["--json"],
        [],
        ["-f", "nginx", "--json"],
        ["--format=combined", "--since", "3650d", "--json"],
        ["--threshold", "0", "--no-record"],
        ["--json", "--since", "soon"],
    ],
)
def test_quick_and_typer_runs_of_logs_scan_print_the_same(
    cli, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:  # type: ignore[no-untyped-def]
    args = ["logs", "scan", str(_log(tmp_path)), *options]
    command = quick.quick_command(args)
    assert command is not None
    capsys.readouterr()
    code = quick.guarded(command)
    out = capsys.readouterr()
    by_typer = cli(*args)
    assert (code, _steady(out.out), out.err) == (
        by_typer.exit_code,
        _steady(by_typer.stdout),
        by_typer.stderr,
    )


def _steady(output: str) -> str:
    """The output without what depends on the scan's own clock reading (the window)."""
    clock = ('"until"', '"since"', "window: ")
    return "\n".join(line for line in output.splitlines() if not any(c in line for c in clock))


@pytest.mark.parametrize(
    "args",
    [
        ["logs", "scan", "--help"],
        ["logs", "scan", "a.log", "-h"],
        ["logs", "scan"],
        ["logs", "scan", "a.log", "--json", "b.log"],
        ["logs", "scan", "a.log", "--thresh", "5"],
        ["logs", "scan", "a.log", "--threshold", "1_0"],
        ["logs", "scan", "--", "-a.log"],
        ["logs", "rotate", "x"],
        ["serve"],
    ],
)
def test_anything_but_plain_logs_scan_arguments_goes_to_typer(args: list[str]) -> None:
    assert quick.quick_command(args) is None


def test_help_still_lists_every_command(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("--help")
    assert shown.exit_code == 0
    assert all(f" {name} " in shown.stdout for name in COMMANDS)
