"""`opsbook alerts`: current alerts and their history, acknowledgements, silences, the loaded
rules and the dashboard thresholds."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, escape
from opsbook.clock import SystemClock, utc
from opsbook.errors import UsageError
from opsbook.units import parse_duration

app = typer.Typer(
    help="Current alerts and their history; acknowledge, silence, list rules and thresholds.",
    no_args_is_help=True,
)

STATE_CHOICES = ("open", "pending", "firing", "resolved", "all")
_COLORS = {"firing": "red", "pending": "yellow", "resolved": "green", "inactive": "dim"}


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="alerts")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


ActorOption = Annotated[
    str | None,
    typer.Option("--by", "--author", help="Who does it, for the journal (default: login name)."),
]


@app.command("list")
def list_command(
    state: Annotated[
        str,
        typer.Option(
            "--state", "-s", help="open (pending and firing), firing, pending, resolved or all."
        ),
    ] = "open",
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """List alerts: pending and firing by default, newest first."""
    from opsbook.alerts import queries, schema

    if state not in STATE_CHOICES:
        raise UsageError(f"--state must be one of {', '.join(STATE_CHOICES)}")
    states = {
        "open": ("pending", "firing"),
        "all": ("pending", "firing", "resolved"),
    }.get(state, (state,))
    cfg, rules = _rules(config)
    db = open_database(cfg)
    try:
        with db.read() as session:
            rows = [
                schema.alert_json(r, rules.get(r.rule))
                for r in queries.current(session, states=states)
            ]
    finally:
        db.dispose()
    if json:
        emit_json({"alerts": rows})
        return
    if not rows:
        console.print(f"No {'open' if state == 'open' else state} alerts.")
        return
    table = Table("id", "rule", "state", "severity", "value", "since", "labels", "note")
    for row in rows:
        color = _COLORS.get(row["state"], "")
        since = row["fired_at"] or row["active_at"]
        note = row["suppressed_by"] or (f"acked by {row['acked_by']}" if row["acked_by"] else "")
        labels = ", ".join(
            f"{k}={v}" for k, v in row["labels"].items() if k not in ("alertname", "severity")
        )
        table.add_row(
            str(row["id"]),
            escape(row["rule"]),
            f"[{color}]{row['state']}[/]",
            escape(row["severity"]),
            row["display"],
            (since or "")[:19].replace("T", " "),
            escape(labels),
            escape(note),
        )
    console.print(table)


@app.command("show")
def show_command(
    alert: Annotated[str, typer.Argument(metavar="ID|RULE", help="Alert id, or a rule's name.")],
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Show one alert: labels, value, silence or window, acknowledgement and every transition."""
    from opsbook.alerts import queries, schema

    cfg, rules = _rules(config)
    db = open_database(cfg)
    try:
        with db.read() as session:
            row = queries.find(session, alert)
            detail = schema.alert_detail_json(
                row, rules.get(row.rule), queries.transitions(session, row.id)
            )
    finally:
        db.dispose()
    if json:
        emit_json({"alert": detail})
        return
    _print_detail(detail)


def _print_detail(detail: dict[str, Any]) -> None:
    color = _COLORS.get(detail["state"], "")
    console.print(
        f"[bold]{escape(detail['rule'])}[/] #{detail['id']}  "
        f"[{color}]{detail['state']}[/]  value {detail['display']}"
    )
    if detail["condition"]:
        console.print(f"condition: {escape(detail['condition'])}")
    console.print(
        "labels:    " + escape(", ".join(f"{k}={v}" for k, v in detail["labels"].items()))
    )
    for name, text in detail["annotations"].items():
        console.print(f"{escape(name)}: {escape(text)}")
    if detail["runbook"]:
        console.print(f"runbook:   {escape(detail['runbook'])}")
    if detail["suppressed_by"]:
        console.print(f"held back by {escape(detail['suppressed_by'])}")
    if detail["acked_by"]:
        console.print(
            f"acknowledged by {escape(detail['acked_by'])} at {detail['acked_at']}: "
            + escape(detail["ack_comment"])
        )
    table = Table("at", "from", "to", "value", "held back by")
    for t in detail["transitions"]:
        value = "no data" if t["value"] is None else f"{t['value']:g}"
        table.add_row(
            t["at"][:19].replace("T", " "),
            t["from"],
            t["to"],
            value,
            escape(t["suppressed_by"] or ""),
        )
    console.print(table)


@app.command("ack")
def ack_command(
    alert: Annotated[str, typer.Argument(metavar="ID|RULE", help="Alert id, or a rule's name.")],
    comment: Annotated[
        str, typer.Option("--comment", "-m", help="What you are doing about it.")
    ] = "",
    by: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Acknowledge an open alert: no more reminders until it resolves (journaled)."""
    from opsbook.alerts import queries, schema

    cfg, rules = _rules(config)
    db = open_database(cfg)
    try:
        with db.write() as session:
            row = queries.acknowledge(
                session, SystemClock(), alert, actor=by or _login(), comment=comment
            )
            shown = schema.alert_json(row, rules.get(row.rule))
    finally:
        db.dispose()
    if json:
        emit_json({"alert": shown})
        return
    console.print(f"Acknowledged alert {shown['id']} ({escape(shown['rule'])}).")


@app.command("silence")
def silence_command(
    match: Annotated[
        list[str],
        typer.Option(
            "--match",
            "-m",
            help='Label matcher: alertname=X, check=~"api|web" (repeat; all must match).',
        ),
    ],
    comment: Annotated[str, typer.Option("--comment", help="Why (required).")] = "",
    duration: Annotated[str | None, typer.Option("--for", help="How long, e.g. 2h or 30m.")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Until when (ISO 8601, e.g. 2026-03-01T06:00Z).")
    ] = None,
    by: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Hold back notifications of matching alerts until the silence expires (journaled)."""
    from opsbook.alerts import schema, silences

    if (duration is None) == (until is None):
        raise UsageError("give exactly one of --for and --until")
    seconds = _duration(duration) if duration else None
    ends = _time(until) if until else None
    cfg = open_config(config)
    db = open_database(cfg)
    clock = SystemClock()
    try:
        with db.write() as session:
            row = silences.create(
                session,
                clock,
                matchers=match,
                duration=seconds,
                ends_at=ends,
                author=by or _login(),
                comment=comment,
            )
            shown = schema.silence_json(row, clock.now())
    finally:
        db.dispose()
    if json:
        emit_json({"silence": shown})
        return
    console.print(
        f"Silence {shown['id']} holds back {escape(', '.join(shown['matchers']))} "
        f"until {shown['ends_at']}."
    )


@app.command("silences")
def silences_command(
    all_: Annotated[bool, typer.Option("--all", help="Include ended silences.")] = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """List silences in force (and, with --all, ended ones)."""
    from opsbook.alerts import schema, silences

    cfg = open_config(config)
    db = open_database(cfg)
    now = SystemClock().now()
    try:
        with db.read() as session:
            rows = [
                schema.silence_json(r, now)
                for r in silences.listed(session, now, include_ended=all_)
            ]
    finally:
        db.dispose()
    if json:
        emit_json({"silences": rows})
        return
    if not rows:
        console.print("No silences in force.")
        return
    table = Table("id", "matchers", "until", "author", "comment", "active")
    for row in rows:
        table.add_row(
            str(row["id"]),
            escape(", ".join(row["matchers"])),
            row["ends_at"][:19].replace("T", " "),
            escape(row["author"]),
            escape(row["comment"]),
            "yes" if row["active"] else "no",
        )
    console.print(table)


@app.command("unsilence")
def unsilence_command(
    silence: Annotated[
        int, typer.Argument(metavar="ID", help="Silence id (opsbook alerts silences).")
    ],
    by: ActorOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Lift a silence now (journaled)."""
    from opsbook.alerts import schema, silences

    cfg = open_config(config)
    db = open_database(cfg)
    clock = SystemClock()
    try:
        with db.write() as session:
            row = silences.lift(session, clock, silence, actor=by or _login())
            shown = schema.silence_json(row, clock.now())
    finally:
        db.dispose()
    if json:
        emit_json({"silence": shown})
        return
    console.print(f"Lifted silence {shown['id']}.")


@app.command("rules")
def rules_command(config: ConfigOption = None, json: JsonOption = False) -> None:
    """List every loaded rule: configured, from rule files, and the defaults of other areas."""
    from opsbook.alerts import schema

    _, rules = _rules(config)
    shown = [schema.rule_json(r) for r in rules.values()]
    if json:
        emit_json({"rules": shown})
        return
    table = Table("rule", "condition", "for", "severity", "channels", "runbook")
    for rule in shown:
        table.add_row(
            escape(rule["name"]),
            escape(rule["condition"]),
            f"{rule['for']:g}s",
            escape(rule["severity"]),
            escape(", ".join(rule["channels"])),
            escape(rule["runbook"]),
        )
    console.print(table)


@app.command("thresholds")
def thresholds_command(config: ConfigOption = None, json: JsonOption = False) -> None:
    """Show each threshold row's color now (green, yellow, red), per series."""
    from opsbook.alerts import schema
    from opsbook.alerts.thresholds import statuses_now

    cfg = open_config(config)
    db = open_database(cfg)
    try:
        with db.read() as session:
            found = statuses_now(session, cfg.settings, SystemClock().now())
    finally:
        db.dispose()
    statuses = [schema.threshold_json(s) for s in found]
    if json:
        emit_json({"thresholds": statuses})
        return
    table = Table("metric", "series", "value", "color")
    colors = {"green": "green", "yellow": "yellow", "red": "red", "unknown": "dim"}
    for status in statuses:
        series = ", ".join(f"{k}={v}" for k, v in status["labels"].items())
        table.add_row(
            escape(status["metric"]),
            escape(series),
            status["display"],
            f"[{colors[status['color']]}]{status['color']}[/]",
        )
    console.print(table)


def _rules(config: Path | None) -> tuple[Any, dict[str, Any]]:
    from opsbook.alerts.rules import load_rules

    cfg = open_config(config)
    return cfg, {rule.name: rule for rule in load_rules(cfg)}


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None


def _time(text: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise UsageError(f"--until: not an ISO 8601 time: {text!r}") from None
