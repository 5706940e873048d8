"""`opsbook parse`, `opsbook lint` and `opsbook import`: reading runbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsbook.cli.options import JsonOption
from opsbook.cli.output import console, emit_json, warn

FileArgument = Annotated[
    Path, typer.Argument(help="A Markdown runbook.", show_default=False, dir_okay=False)
]
FilesArgument = Annotated[
    list[Path], typer.Argument(help="Markdown runbooks.", show_default=False, dir_okay=False)
]


def register(root: typer.Typer) -> None:
    root.command("parse")(parse_command)
    root.command("lint")(lint_command)
    root.command("import")(import_command)


def parse_command(file: FileArgument, json: JsonOption = False) -> None:
    """Read a runbook and show its procedures, steps, rules, schedules and policy.

    The outline lists each procedure with its parts and numbered steps (kind, tools, why a
    step is dangerous, what would make it wait forever) and what the runbook declares for the
    rest of opsbook. --json prints the whole model (documented in docs/runbook-schema.md).
    Exit 2 when the file cannot be read as UTF-8 text.
    """
    from opsbook.runbook.parse import parse_file
    from opsbook.runbook.schema import runbook_json

    runbook = parse_file(file)
    if json:
        emit_json(runbook_json(runbook))
        return
    from opsbook.cli.runbook_view import outline

    console.print(outline(runbook))
    for warning in runbook.warnings:
        warn(f"{runbook.source}:{warning.line}: {warning.message}")


def lint_command(files: FilesArgument, json: JsonOption = False) -> None:
    """Check runbooks: one `file:line: level: message [code]` line per problem.

    Errors break a run or an import (an unclosed block, an unreadable alert rule or crontab
    line, a real secret in the file, a bad block attribute); warnings should be fixed; infos
    say what a runbook needs. Exit 1 when there is an error, 2 when a file does not exist.
    """
    from opsbook.runbook.lint import ERROR, INFO, WARNING, lint_file

    results = [(str(path), lint_file(path)) for path in files]
    problems = [p for _, found in results for p in found]
    counts = {
        level: sum(1 for p in problems if p.level == level) for level in (ERROR, WARNING, INFO)
    }
    if json:
        emit_json(
            {
                "files": [
                    {
                        "source": source,
                        "problems": [
                            {"line": p.line, "level": p.level, "code": p.code, "message": p.message}
                            for p in found
                        ],
                    }
                    for source, found in results
                ],
                "errors": counts[ERROR],
                "warnings": counts[WARNING],
                "infos": counts[INFO],
            }
        )
    else:
        for problem in problems:
            typer.echo(str(problem))
        summary = f"{len(files)} file(s): {counts[ERROR]} error(s), {counts[WARNING]} warning(s)"
        typer.echo(summary + f", {counts[INFO]} info", err=True)
    if counts[ERROR]:
        raise typer.Exit(1)


def import_command(
    files: FilesArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the YAML fragments (created if missing); one <runbook>.yaml each.",
            file_okay=False,
        ),
    ],
    json: JsonOption = False,
) -> None:
    """Write the alert rules, thresholds, schedules, severities, escalation and templates
    of runbooks as opsbook config: DIR/<runbook>.yaml, loaded with `include: [DIR/*.yaml]`.
    """
    from opsbook.runbook.importer import import_files
    from opsbook.runbook.parse import parse_file

    runbooks = [parse_file(path) for path in files]
    results = import_files(runbooks, out)
    if json:
        emit_json(
            {
                "out": str(out),
                "files": [
                    {"source": r.source, "path": str(r.path) if r.path else None, **r.counts}
                    for r in results
                ],
            }
        )
        return
    for result in results:
        if result.path is None:
            typer.echo(f"{result.source}: nothing to import")
            continue
        found = ", ".join(f"{n} {what}" for what, n in result.counts.items() if n)
        typer.echo(f"{result.source} -> {result.path}  ({found})")
