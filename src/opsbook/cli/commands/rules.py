"""`opsbook rules test`: alert rule unit tests, offline, for CI (format in docs/alerts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsbook.cli.options import JsonOption
from opsbook.cli.output import console, emit_json, escape

app = typer.Typer(help="Check alert rules offline.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="rules")


@app.command("test")
def rules_test_command(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="Rule test files (format in docs/alerts.md)."),
    ],
    json: JsonOption = False,
) -> None:
    """Run rule unit tests offline, like promtool test rules; exit 1 when a test fails."""
    from opsbook.alerts.rulestest import run_file

    results = [result for path in files for result in run_file(path)]
    passed = all(r.passed for r in results)
    if json:
        emit_json(
            {
                "passed": passed,
                "tests": [
                    {"file": r.file, "name": r.name, "passed": r.passed, "failures": r.failures}
                    for r in results
                ],
            }
        )
    else:
        for result in results:
            mark = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
            console.print(f"{mark} {escape(result.file)}: {escape(result.name)}")
            for failure in result.failures:
                console.print("  " + escape(failure))
        console.print(f"{sum(r.passed for r in results)} of {len(results)} tests passed.")
    if not passed:
        raise typer.Exit(1)
