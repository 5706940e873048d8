"""The root command loads a command group's module only when that group is used."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import typer

import opsbook.cli.commands
from opsbook.cli.app import COMMANDS


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


def test_logs_scan_loads_neither_the_server_nor_the_store(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text('10.0.0.1 - - [05/Jan/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n')
    program = (
        "import json, sys\n"
        "from opsbook.cli.app import main\n"
        "code = main(['logs', 'scan', sys.argv[1], '--json'])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(log)], capture_output=True, text=True, check=True
    )
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    assert '"total": 1' in done.stdout
    loaded = {name.split(".")[0] for name in modules} | {
        name for name in modules if name.startswith("opsbook.")
    }
    assert not loaded & {"sqlalchemy", "fastapi", "alembic", "polars", "opsbook.web"}


def test_help_still_lists_every_command(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("--help")
    assert shown.exit_code == 0
    assert all(f" {name} " in shown.stdout for name in COMMANDS)
