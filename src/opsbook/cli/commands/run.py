"""`opsbook run` and `opsbook runs`: run a procedure step by step; list, show and resume runs."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from opsbook.cli.commands.run_view import (
    TerminalListener,
    TerminalPrompter,
    print_plan,
    print_preflight,
    print_procedures,
    print_run,
    print_runs,
    print_summary,
)
from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, err_console, escape, warn
from opsbook.errors import UnavailableError, UsageError
from opsbook.execution import service
from opsbook.execution.inputs import parse_var, read_env_file, secret_names
from opsbook.execution.model import RunOptions, RunRequest, RunStatus
from opsbook.execution.preflight import Preflight
from opsbook.execution.process import use_pidfd_child_watcher
from opsbook.execution.schema import plan_json, preflight_json
from opsbook.execution.select import find, pick_steps, runnable
from opsbook.runbook.model import Runbook
from opsbook.runtime import Runtime, action_registry
from opsbook.secrets import is_secret_name

EXIT_CODES = {
    RunStatus.OK: 0,
    RunStatus.FAILED: 1,
    RunStatus.WAITING: 1,
    RunStatus.INTERRUPTED: 130,
}

runs_app = typer.Typer(help="Runs of procedures: list them, show one, resume one.")

VarOption = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        help="NAME=VALUE passed to steps as an environment variable; NAME alone takes it from "
        "your environment (or asks). Repeatable.",
        show_default=False,
    ),
]
EnvFileOption = Annotated[
    Path | None,
    typer.Option(
        "--env-file", help="A file of NAME=value lines given to the steps.", show_default=False
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes", "-y", help="Confirm dangerous, confirm=true and manual steps in advance."
    ),
]


RunbookArgument = Annotated[Path, typer.Argument(help="The Markdown runbook.", show_default=False)]
StepsOption = Annotated[
    str | None, typer.Option("--steps", help="Only these steps: 2-5, 1,3.", show_default=False)
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the plan; run nothing.")]
ConnectionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--connection", help="NAME=URL database for SQL steps. Repeatable.", show_default=False
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", help="Timeout of every step, in seconds.", show_default=False),
]
ContinueOption = Annotated[
    bool, typer.Option("--continue-on-error", help="Go on after a failed step.")
]


def register(root: typer.Typer) -> None:
    root.command("run")(run_command)
    root.add_typer(runs_app, name="runs")


def run_command(
    runbook: RunbookArgument,
    procedure: Annotated[
        str | None,
        typer.Argument(
            help='Procedure title or slug, or "Procedure/Part"; omit to list them.',
            show_default=False,
        ),
    ] = None,
    steps: StepsOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    var: VarOption = None,
    env_file: EnvFileOption = None,
    connection: ConnectionOption = None,
    timeout: TimeoutOption = None,
    continue_on_error: ContinueOption = False,
    json: JsonOption = False,
    config: ConfigOption = None,
    incident: Annotated[
        int | None,
        typer.Option(
            "--incident",
            help="Record each step's result on this incident's timeline.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a procedure of RUNBOOK step by step: preflight, gates, timeouts, every step recorded.

    Exit 0 when every step is ok, 1 when a step failed or timed out or the run waits for a
    confirmation, 2 for bad input or a failed preflight, 130 when interrupted.
    """
    book = _parse(runbook)
    if procedure is None:
        _list_procedures(book, json)
        return
    selection = find(book, procedure)
    chosen = pick_steps(selection, steps)
    interactive = _interactive(json)
    cfg = open_config(config)
    variables = _variables(var, env_file, interactive)
    request = RunRequest(
        runbook=book,
        procedure=selection.procedure,
        steps=chosen,
        part=selection.part.title if selection.part else "",
        variables=variables,
        secret_names=secret_names(variables, cfg.settings.secrets),
        connections=_connections(connection),
        operator=_operator(),
        options=RunOptions(
            timeout=timeout, continue_on_error=continue_on_error, yes=yes, cwd=os.getcwd()
        ),
    )
    db = open_database(cfg)
    runtime = Runtime(config=cfg, db=db)
    actions = action_registry()
    try:
        prepared = service.prepare(runtime, request, actions=actions, interactive=interactive)
        if interactive and prepared.preflight.of_kind("parameter"):
            request = _ask_parameters(request, prepared.preflight)
            prepared = service.prepare(runtime, request, actions=actions, interactive=True)
        header = {
            "runbook": str(runbook),
            "procedure": selection.procedure.title,
            "part": request.part,
        }
        if dry_run:
            _show_plan(prepared, header, json)
            raise typer.Exit(0 if prepared.preflight.ok else 2)
        if not prepared.preflight.ok:
            _preflight_failed(prepared.preflight, header, json)
        outcome = _execute(
            runtime,
            json,
            interactive,
            lambda f: service.start(
                runtime, request, actions=actions, followers=f, prepared=prepared
            ),
            incident=incident,
        )
    finally:
        db.dispose()
    raise typer.Exit(EXIT_CODES[outcome.status])


@runs_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", help="How many runs, newest first.")] = 20,
    status: Annotated[
        str | None, typer.Option("--status", help="Only runs with this status.", show_default=False)
    ] = None,
    json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List runs, newest first."""
    runtime = _runtime(config)
    try:
        with runtime.db.write() as session:
            service.reconcile(session, runtime.clock, runtime.config)
        with runtime.db.read() as session:
            runs = service.list_runs(session, limit=limit, status=status)
    finally:
        runtime.db.dispose()
    if json:
        emit_json({"runs": runs})
    else:
        print_runs(runs)


@runs_app.command("show")
def show_command(
    run_id: Annotated[int, typer.Argument(help="The run's id.", show_default=False)],
    json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show a run: its steps, their status and the output kept of each."""
    runtime = _runtime(config)
    try:
        with runtime.db.write() as session:
            service.reconcile(session, runtime.clock, runtime.config)
        with runtime.db.read() as session:
            data = service.get(session, run_id)
    finally:
        runtime.db.dispose()
    if json:
        emit_json(data)
    else:
        print_run(data)


@runs_app.command("resume")
def resume_command(
    run_id: Annotated[int, typer.Argument(help="The run's id.", show_default=False)],
    yes: YesOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Resume even though the procedure's text changed.")
    ] = False,
    var: VarOption = None,
    env_file: EnvFileOption = None,
    json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Continue a run from its first step that is not ok, with its saved shell state."""
    interactive = _interactive(json)
    variables = _variables(var, env_file, interactive)
    runtime = _runtime(config)
    actions = action_registry()
    try:
        with runtime.db.read() as session:
            incident = _linked_incident(session, run_id)
        outcome = _execute(
            runtime,
            json,
            interactive,
            lambda f: service.resume(
                runtime,
                run_id,
                variables=variables,
                operator=_operator(),
                yes=yes,
                force=force,
                actions=actions,
                followers=f,
            ),
            incident=incident,
        )
    except service.PreflightFailed as exc:
        _preflight_failed(exc.preflight, {"run_id": run_id}, json)
        raise
    finally:
        runtime.db.dispose()
    raise typer.Exit(EXIT_CODES[outcome.status])


@runs_app.command("cancel")
def cancel_command(
    run_id: Annotated[int, typer.Argument(help="The run's id.", show_default=False)],
    config: ConfigOption = None,
) -> None:
    """Ask the process running a run to stop it; its running step is killed within seconds."""
    runtime = _runtime(config)
    try:
        with runtime.db.write() as session:
            service.cancel(session, runtime.clock, run_id, actor=_operator())
    finally:
        runtime.db.dispose()
    console.print(f"Asked run {run_id} to stop.")


def _execute(
    runtime: Runtime, json: bool, interactive: bool, begin: Any, *, incident: int | None = None
) -> service.RunOutcome:
    listener: Any = None if json else TerminalListener(console)
    if incident is not None:
        listener = _incident_listener(runtime, incident, listener)
    followers = service.Followers(
        listener=listener, prompter=TerminalPrompter(runtime.redactor) if interactive else None
    )

    async def main() -> service.RunOutcome:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, followers.stop.set)
        loop.add_signal_handler(signal.SIGTERM, followers.stop.set)
        return await begin(followers)  # type: ignore[no-any-return]

    use_pidfd_child_watcher()
    outcome = asyncio.run(main())
    if incident is not None:
        _incident_finished(runtime, incident, outcome.run_id)
    with runtime.db.read() as session:
        data = service.get(session, outcome.run_id, output=False)
    if json:
        emit_json(data)
    else:
        print_summary(data)
    return outcome


def _incident_context(runtime: Runtime) -> Any:
    from opsbook.incidents.service import IncidentContext

    return IncidentContext.from_config(runtime.config, runtime.clock)


def _incident_listener(runtime: Runtime, incident: int, inner: Any) -> Any:
    from opsbook.incidents import service as incidents
    from opsbook.incidents.runs import IncidentRunListener

    with runtime.db.read() as session:
        incidents.get(session, incident)  # an unknown incident stops the run before it starts
    ctx = _incident_context(runtime)
    return IncidentRunListener(runtime.db, ctx, incident, actor=_operator(), inner=inner)


def _linked_incident(session: Any, run_id: int) -> int | None:
    from opsbook.incidents.runs import incident_for_run

    return incident_for_run(session, run_id)


def _incident_finished(runtime: Runtime, incident: int, run_id: int) -> None:
    from opsbook.incidents.runs import attach, finished

    ctx = _incident_context(runtime)
    with runtime.db.write() as session:
        attach(session, ctx, incident, run_id, actor=_operator())
        finished(session, ctx, incident, run_id, actor=_operator())


def _parse(path: Path) -> Runbook:
    try:
        from opsbook.runbook.parse import parse_file  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UnavailableError("the runbook parser is not available in this build") from None
    book: Runbook = parse_file(path)
    return book


def _list_procedures(book: Runbook, json: bool) -> None:
    procedures = [
        {
            "title": p.title,
            "slug": p.slug,
            "line": p.line,
            "steps": len(p.steps),
            "parts": [
                {"title": part.title, "slug": part.slug, "steps": len(part.steps)}
                for part in p.parts
                if part.steps
            ],
        }
        for p in runnable(book)
    ]
    if json:
        emit_json({"runbook": book.source, "procedures": procedures})
    else:
        print_procedures(book.source, procedures)


def _interactive(json: bool) -> bool:
    return not json and sys.stdin.isatty() and sys.stdout.isatty()


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _variables(var: list[str] | None, env_file: Path | None, interactive: bool) -> dict[str, str]:
    values = read_env_file(env_file) if env_file else {}
    for text in var or []:
        name, value = parse_var(text, os.environ)
        if value is None and interactive:
            value = typer.prompt(name, hide_input=is_secret_name(name))
        if value is None:
            continue
        if "=" in text and is_secret_name(name):
            warn(
                f"{name} was given on the command line, where `ps` shows it; "
                f"prefer --env-file or --var {name} (taken from your environment)"
            )
        values[name] = value
    return values


def _connections(given: list[str] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for text in given or []:
        name, sep, url = text.partition("=")
        if "://" in name or not sep:
            name, url = "default", text
        if "://" not in url:
            raise UsageError(f"--connection {name}=...: give a URL like postgresql://user@host/db")
        result[name.strip()] = url.strip()
    return result


def _ask_parameters(request: RunRequest, preflight: Preflight) -> RunRequest:
    answers = dict(request.variables)
    hidden: set[str] = set()
    for problem in preflight.of_kind("parameter"):
        label = problem.message.strip("'\" ").rstrip(":? ") or problem.name
        secret = problem.secret or is_secret_name(problem.name)
        answers[problem.name] = typer.prompt(label, hide_input=secret)
        if secret:
            hidden.add(problem.name)
    secrets = request.secret_names | hidden | {n for n in answers if is_secret_name(n)}
    from dataclasses import replace

    return replace(request, variables=answers, secret_names=frozenset(secrets))


def _preflight_failed(preflight: Preflight, header: dict[str, Any], json: bool) -> None:
    if json:
        emit_json({**header, "status": "preflight_failed", "preflight": preflight_json(preflight)})
    else:
        print_preflight(preflight)
    raise typer.Exit(2)


def _show_plan(prepared: service.Prepared, header: dict[str, Any], json: bool) -> None:
    if json:
        emit_json(
            {
                **header,
                "preflight": preflight_json(prepared.preflight),
                "plan": plan_json(prepared.plan),
            }
        )
    else:
        print_plan(header, prepared.plan)
        if not prepared.preflight.ok:
            print_preflight(prepared.preflight)


def _runtime(config: Path | None) -> Runtime:
    cfg = open_config(config)
    return Runtime(config=cfg, db=open_database(cfg))


__all__ = ["err_console", "escape", "register"]
