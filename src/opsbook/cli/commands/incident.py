"""`opsbook incident`: open, update, acknowledge, escalate, resolve and learn from incidents."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from opsbook.cli.commands import run
from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, escape
from opsbook.clock import SystemClock
from opsbook.errors import UsageError
from opsbook.incidents import action_items, postmortem, schema, service, timeline
from opsbook.incidents import runs as incident_runs
from opsbook.incidents.model import parse_status
from opsbook.incidents.tables import IncidentRow
from opsbook.storage import Database

app = typer.Typer(help="Open, update, acknowledge, escalate, resolve and learn from incidents.")
action_app = typer.Typer(help="Action items that come out of an incident.")
app.add_typer(action_app, name="action")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="incident")


ActorOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who is acting (default: $OPSBOOK_ACTOR or your login name).",
        show_default=False,
    ),
]
IdArgument = Annotated[int, typer.Argument(help="Incident id.")]


def _actor(value: str | None) -> str:
    return value or os.environ.get("OPSBOOK_ACTOR") or getpass.getuser()


class _Session:
    """The config, store and incident context a command needs."""

    def __init__(self, config_path: Path | None) -> None:
        self.config = open_config(config_path)
        self.db: Database = open_database(self.config)
        self.ctx = service.IncidentContext.from_config(self.config, SystemClock())

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.db.dispose()


@app.command("open")
def open_command(
    title: Annotated[str, typer.Option("--title", "-t", help="What is wrong, in a few words.")],
    severity: Annotated[str, typer.Option("--severity", "-s", help="Severity level, e.g. P2.")],
    impact: Annotated[str, typer.Option(help="Who or what is affected.")] = "",
    commander: Annotated[str | None, typer.Option(help="Incident commander.")] = None,
    component: Annotated[
        list[str] | None, typer.Option(help="Affected component (repeatable).")
    ] = None,
    runbook: Annotated[
        str, typer.Option(help="Runbook link, e.g. runbooks/db.md#connections.")
    ] = "",
    public: Annotated[bool, typer.Option(help="Show it on the public status page.")] = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Open an incident: starts the escalation ladder and sends the initial message."""
    _change(
        config,
        json,
        lambda session, ctx: service.open_incident(
            session,
            ctx,
            title=title,
            severity=severity,
            actor=_actor(actor),
            impact=impact,
            commander=commander,
            components=component or [],
            runbook=runbook,
            public=public,
        ),
        lambda s: f"Opened incident {s['id']} at {s['severity']}: {title}",
    )


@app.command("update")
def update_command(
    incident_id: IdArgument,
    message: Annotated[
        str, typer.Option("--message", "-m", help="What happened, what is being done.")
    ],
    status: Annotated[
        str | None,
        typer.Option(help="New status: investigating, identified, mitigating, monitoring."),
    ] = None,
    impact: Annotated[str | None, typer.Option(help="Updated impact.")] = None,
    eta: Annotated[str | None, typer.Option(help="Resolution estimate.")] = None,
    public: Annotated[bool, typer.Option(help="Also show this update on the status page.")] = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Post an update (and optionally change status); the update template goes to the channels."""
    _change(
        config,
        json,
        lambda session, ctx: service.post_update(
            session,
            ctx,
            incident_id,
            actor=_actor(actor),
            message=message,
            status=parse_status(status) if status else None,
            impact=impact,
            eta=eta,
            public=public,
        ),
        lambda s: f"Incident {incident_id} updated ({s['status']}).",
    )


@app.command("ack")
def ack_command(
    incident_id: IdArgument,
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Acknowledge: you are on it. Stops the escalation ladder."""
    _change(
        config,
        json,
        lambda session, ctx: service.acknowledge(session, ctx, incident_id, actor=_actor(actor)),
        lambda s: f"Incident {incident_id} acknowledged by {_actor(actor)}.",
    )


@app.command("assign")
def assign_command(
    incident_id: IdArgument,
    commander: Annotated[str, typer.Option(help="The new incident commander.")],
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Make someone the incident commander."""
    _change(
        config,
        json,
        lambda session, ctx: service.assign(
            session, ctx, incident_id, commander=commander, actor=_actor(actor)
        ),
        lambda s: f"Incident {incident_id}: commander is {commander}.",
    )


@app.command("severity")
def severity_command(
    incident_id: IdArgument,
    severity: Annotated[str, typer.Argument(help="New severity level, e.g. P1.")],
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Change the severity (the update cadence follows the new level)."""
    _change(
        config,
        json,
        lambda session, ctx: service.set_severity(
            session, ctx, incident_id, severity=severity, actor=_actor(actor)
        ),
        lambda s: f"Incident {incident_id} is now {s['severity']}.",
    )


@app.command("resolve")
def resolve_command(
    incident_id: IdArgument,
    root_cause: Annotated[str, typer.Option(help="Brief root cause.")] = "",
    resolution: Annotated[str, typer.Option(help="What fixed it.")] = "",
    message: Annotated[str, typer.Option("--message", "-m", help="A note for the timeline.")] = "",
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Resolve: stops escalation and reminders, sends the resolution message."""
    _change(
        config,
        json,
        lambda session, ctx: service.resolve(
            session,
            ctx,
            incident_id,
            actor=_actor(actor),
            root_cause=root_cause,
            resolution=resolution,
            message=message,
        ),
        lambda s: f"Incident {incident_id} resolved.",
    )


@app.command("close")
def close_command(
    incident_id: IdArgument,
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Close a resolved incident (after its review)."""
    _change(
        config,
        json,
        lambda session, ctx: service.close(session, ctx, incident_id, actor=_actor(actor)),
        lambda s: f"Incident {incident_id} closed.",
    )


@app.command("note")
def note_command(
    incident_id: IdArgument,
    text: Annotated[str, typer.Argument(help="The note.")],
    actor: ActorOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a note to the timeline (sent to nobody)."""
    with _Session(config) as s, s.db.write() as session:
        service.add_note(session, s.ctx, incident_id, actor=_actor(actor), text=text)
    console.print(f"Noted on incident {incident_id}.")


@app.command("list")
def list_command(
    open_only: Annotated[
        bool, typer.Option("--open", help="Only incidents still being worked.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """List incidents, newest first."""
    with _Session(config) as s, s.db.read() as session:
        now = s.ctx.clock.now()
        rows = [
            schema.incident_summary(i, s.ctx.policy, now)
            for i in service.list_incidents(session, open_only=open_only, limit=limit)
        ]
    if json:
        emit_json({"incidents": rows})
        return
    table = Table("id", "severity", "status", "title", "commander", "detected", "ack", box=None)
    for row in rows:
        ack = (
            "missed"
            if row["response_missed"] and not row["acknowledged_at"]
            else ("yes" if row["acknowledged_at"] else "no")
        )
        table.add_row(
            str(row["id"]),
            row["severity"],
            row["status"],
            escape(row["title"]),
            row["commander"] or "—",
            f"{row['detected_at']:%Y-%m-%d %H:%M}",
            ack,
        )
    console.print(table if rows else "No incidents.")


@app.command("show")
def show_command(
    incident_id: IdArgument, config: ConfigOption = None, json: JsonOption = False
) -> None:
    """Show an incident with its timeline, alerts, runs and action items."""
    with _Session(config) as s, s.db.read() as session:
        incident = service.get(session, incident_id)
        detail = schema.incident_detail(
            incident,
            s.ctx.policy,
            s.ctx.clock.now(),
            events=list(timeline.events(session, incident_id)),
            links=list(timeline.links(session, incident_id)),
            actions=list(action_items.listed(session, incident_id)),
        )
    if json:
        emit_json({"incident": detail})
        return
    console.print(f"[bold]Incident {detail['id']}[/] {escape(detail['title'])}")
    missed = " · [red]response target missed[/]" if detail["response_missed"] else ""
    commander = detail["commander"] or "unassigned"
    console.print(f"{detail['severity']} · {detail['status']} · commander {commander}{missed}")
    if detail["impact"]:
        console.print(f"Impact: {escape(detail['impact'])}")
    table = Table("time", "who", "what", "detail", box=None)
    for event in detail["timeline"]:
        table.add_row(
            f"{event['at']:%H:%M:%S}",
            event["actor"],
            event["kind"],
            escape(event["text"].splitlines()[0] if event["text"] else ""),
        )
    console.print(table)


@app.command("postmortem")
def postmortem_command(
    incident_id: IdArgument,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the Markdown here instead of printing it."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Draft the post-mortem in Markdown from the incident's record."""
    with _Session(config) as s, s.db.read() as session:
        incident = service.get(session, incident_id)
        text = postmortem.draft(
            incident,
            s.ctx.policy,
            s.ctx.clock.now(),
            events=timeline.events(session, incident_id),
            links=timeline.links(session, incident_id),
            actions=action_items.listed(session, incident_id),
            runs=incident_runs.summaries(session, incident_id),
        )
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}")
    else:
        typer.echo(text, nl=False)


@app.command("run")
def run_command(
    incident_id: IdArgument,
    runbook: run.RunbookArgument,
    procedure: Annotated[str, typer.Argument(help='Procedure title or slug, or "Procedure/Part".')],
    steps: run.StepsOption = None,
    dry_run: run.DryRunOption = False,
    yes: run.YesOption = False,
    var: run.VarOption = None,
    env_file: run.EnvFileOption = None,
    connection: run.ConnectionOption = None,
    timeout: run.TimeoutOption = None,
    continue_on_error: run.ContinueOption = False,
    json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run a procedure for an incident: each step's result lands on its timeline as it finishes.

    The same as `opsbook run RUNBOOK PROCEDURE --incident ID`, with the same exit codes.
    """
    run.run_command(
        runbook=runbook,
        procedure=procedure,
        steps=steps,
        dry_run=dry_run,
        yes=yes,
        var=var,
        env_file=env_file,
        connection=connection,
        timeout=timeout,
        continue_on_error=continue_on_error,
        json=json,
        config=config,
        incident=incident_id,
    )


@action_app.command("add")
def action_add(
    incident_id: IdArgument,
    text: Annotated[str, typer.Argument(help="What must be done.")],
    owner: Annotated[str, typer.Option(help="Who owns it.")] = "",
    due: Annotated[str | None, typer.Option(help="Due date, YYYY-MM-DD.")] = None,
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Add an action item."""
    with _Session(config) as s, s.db.write() as session:
        item = action_items.add(
            session, s.ctx, incident_id, actor=_actor(actor), text=text, owner=owner, due=_date(due)
        )
        data = schema.action_json(item)
    _report(data, json, f"Action item {data['id']} added to incident {incident_id}.")


@action_app.command("update")
def action_update(
    item_id: Annotated[int, typer.Argument(help="Action item id.")],
    status: Annotated[str | None, typer.Option(help="open, done or dropped.")] = None,
    owner: Annotated[str | None, typer.Option(help="New owner.")] = None,
    due: Annotated[str | None, typer.Option(help="New due date, YYYY-MM-DD.")] = None,
    actor: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Change an action item's status, owner or due date."""
    with _Session(config) as s, s.db.write() as session:
        item = action_items.update(
            session, s.ctx, item_id, actor=_actor(actor), status=status, owner=owner, due=_date(due)
        )
        data = schema.action_json(item)
    _report(data, json, f"Action item {item_id} is {data['status']}.")


@action_app.command("list")
def action_list(
    incident_id: IdArgument, config: ConfigOption = None, json: JsonOption = False
) -> None:
    """List an incident's action items."""
    with _Session(config) as s, s.db.read() as session:
        items = [schema.action_json(i) for i in action_items.listed(session, incident_id)]
    if json:
        emit_json({"action_items": items})
        return
    table = Table("id", "status", "owner", "due", "action", box=None)
    for i in items:
        table.add_row(
            str(i["id"]),
            i["status"],
            i["owner"] or "—",
            f"{i['due']:%Y-%m-%d}" if i["due"] else "—",
            escape(i["text"]),
        )
    console.print(table if items else "No action items.")


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise UsageError(f"not a date: {text!r} (write YYYY-MM-DD)") from None


def _change(
    config: Path | None,
    json: bool,
    act: Callable[[Session, service.IncidentContext], IncidentRow],
    say: Callable[[dict[str, Any]], str],
) -> None:
    """Run one change in one transaction, then print the incident as text or JSON."""
    with _Session(config) as s, s.db.write() as session:
        incident = act(session, s.ctx)
        summary = schema.incident_summary(incident, s.ctx.policy, s.ctx.clock.now())
    _report(summary, json, say(summary))


def _report(data: dict[str, object], json: bool, text: str) -> None:
    if json:
        emit_json({"incident" if "title" in data else "action_item": data})
    else:
        console.print(escape(text))
