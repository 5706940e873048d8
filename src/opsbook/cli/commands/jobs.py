"""`opsbook jobs`: scheduled jobs, their history, and running one now."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.table import Table

from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, err_console, escape
from opsbook.clock import SystemClock
from opsbook.config import Config
from opsbook.config.schedules import ScheduleConfig
from opsbook.errors import NotFoundError

app = typer.Typer(help="Scheduled jobs (`schedules:` in opsbook.yaml): list, history, run now.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="jobs")


def _spec(config: Config, name: str) -> ScheduleConfig:
    for spec in config.settings.schedules:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in config.settings.schedules) or "none configured"
    raise NotFoundError(f"unknown job {name!r} (known: {known})")


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}Z" if value else "-"


@app.command("list")
def list_command(config: ConfigOption = None, json: JsonOption = False) -> None:
    """Every configured job: schedule, next fire, last run, and whether it is overdue."""
    from opsbook.scheduler.schema import jobs_json

    cfg = open_config(config)
    db = open_database(cfg)
    try:
        with db.read() as session:
            items = jobs_json(session, cfg.settings.schedules, SystemClock().now())
    finally:
        db.dispose()
    if json:
        emit_json({"jobs": items})
        return
    if not items:
        console.print("No jobs configured (add `schedules:` to opsbook.yaml).")
        return
    table = Table("job", "cron", "runs", "next fire", "last run", "last success", "state")
    for item in items:
        last = item["last_run"]
        state = "[red]overdue[/]" if item["overdue"] else ("running" if item["running"] else "ok")
        if item["last_run_failed"]:
            state = "[red]failed[/]" + (", overdue" if item["overdue"] else "")
        if not item["enabled"]:
            state = "disabled"
        table.add_row(
            item["name"],
            f"{item['cron']} {item['timezone']}",
            escape(f"{item['kind']}: {item['target']}"),
            _when(item["next_fire_at"]),
            f"{last['status']} {_when(last['started_at'] or last['finished_at'])}" if last else "-",
            _when(item["last_success_at"]),
            state,
        )
    console.print(table)


@app.command("history")
def history_command(
    name: Annotated[str, typer.Argument(help="The job's name.")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs, newest first.")] = 20,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """A job's runs, newest first: trigger, status, duration, exit status (and output in JSON)."""
    from opsbook.scheduler import service
    from opsbook.scheduler.schema import run_json

    cfg = open_config(config)
    _spec(cfg, name)
    db = open_database(cfg)
    try:
        with db.read() as session:
            runs = [run_json(run) for run in service.history(session, name, limit)]
    finally:
        db.dispose()
    if json:
        emit_json({"job": name, "runs": runs})
        return
    table = Table("run", "trigger", "for", "status", "duration", "exit", "note")
    for run in runs:
        duration = run["duration_seconds"]
        table.add_row(
            str(run["id"]),
            run["trigger"],
            _when(run["scheduled_for"] or run["started_at"]),
            run["status"],
            f"{duration:.1f}s" if duration is not None else "-",
            "-" if run["exit_code"] is None else str(run["exit_code"]),
            escape(run["note"]),
        )
    console.print(table)


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="The job's name.")],
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Run a job now, outside its schedule, and wait for it. Exit 1 when the run fails."""
    from opsbook.runtime import Runtime
    from opsbook.scheduler import jobs, service
    from opsbook.scheduler.schema import run_json
    from opsbook.scheduler.tables import JobRun

    cfg = open_config(config)
    spec = _spec(cfg, name)
    db = open_database(cfg)
    runtime = Runtime(cfg, db, SystemClock())
    try:
        with db.write() as session:
            run_id = service.start_manual(
                session, spec, runtime.clock.now(), runtime.node_id, "cli", clock=runtime.clock
            ).id
        with err_console.status(f"running job {name} (run #{run_id})…"):
            outcome = asyncio.run(jobs.execute(runtime, spec, run_id))
        with db.read() as session:
            run = session.get(JobRun, run_id)
            assert run is not None
            data = run_json(run)
    finally:
        db.dispose()
    if json:
        emit_json({"run": data})
    else:
        if data["output"]:
            console.print(escape(data["output"].rstrip("\n")))
        verdict = outcome.status.value.replace("_", " ")
        console.print(f"job {name} run #{run_id} {verdict} in {outcome.duration_seconds:.1f}s")
        if data["note"]:
            console.print(escape(data["note"]))
    if outcome.status.failed:
        raise typer.Exit(1)
