"""`opsbook notify`: send a test message, inspect the outbox, retry failed messages."""

from __future__ import annotations

import asyncio
import getpass
import random
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, escape, warn
from opsbook.clock import Clock, SystemClock
from opsbook.config import Config
from opsbook.errors import UsageError
from opsbook.notify import health, schema
from opsbook.notify import service as notify
from opsbook.notify.delivery import Delivery, deliver_due
from opsbook.notify.destinations import ChannelSet
from opsbook.notify.model import MessageState
from opsbook.notify.transports import Sender
from opsbook.runtime import default_node_id
from opsbook.storage import Database

app = typer.Typer(
    help="Send test messages, and inspect or retry the notification outbox.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="notify")


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _deliver_now(
    db: Database, clock: Clock, channels: ChannelSet, config: Config, ids: Sequence[int]
) -> list[Delivery]:
    async def run() -> list[Delivery]:
        async with Sender(config.redactor) as sender:
            return await deliver_due(
                db,
                clock,
                channels,
                sender,
                node=default_node_id(),
                rand=random.Random(),  # noqa: S311 - jitter only
                limit=max(len(ids), 1),
                ids=list(ids),
            )

    return asyncio.run(run())


@app.command("test")
def test_command(
    channel: Annotated[
        str, typer.Argument(help="A channel defined under channels: in the config.")
    ],
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Send a test message to every destination of CHANNEL now; show each receiver's answer.

    The message goes through the outbox like any other (it is listed by `opsbook notify outbox`)
    but gets one attempt only. Exit 1 when a destination did not accept it.
    """
    cfg = open_config(config)
    channels = ChannelSet.from_config(cfg)
    if channel not in channels:
        channels.get(channel)  # raises the config error that names the defined channels
    clock = SystemClock()
    db = open_database(cfg)
    try:
        now = clock.now()
        with db.write() as session:
            rows = notify.enqueue(
                session,
                clock,
                channel=channel,
                key=f"test:{channel}:{uuid.uuid4().hex[:12]}",
                event="test",
                title=f"Test message for channel {channel}",
                body=_test_body(channel, now),
                severity="info",
                channels=channels,
            )
            ids = [row.id for row in rows]
        deliveries = _deliver_now(db, clock, channels, cfg, ids)
    finally:
        db.dispose()
    results = [schema.delivery_json(d, cfg.redactor) for d in deliveries]
    results += _not_attempted(ids, deliveries)
    ok = bool(results) and all(r["ok"] for r in results)
    if json:
        emit_json({"channel": channel, "ok": ok, "results": results})
    else:
        _print_deliveries(f"Test message to channel {channel}", results)
    if not ok:
        raise typer.Exit(1)


def _test_body(channel: str, now: datetime) -> str:
    return (
        f"This is a test of notification channel {channel}, sent by {_actor()} on "
        f"{socket.gethostname()} at {now:%Y-%m-%d %H:%M:%S} UTC. If you can read it, "
        "opsbook can reach you here."
    )


def _not_attempted(ids: Sequence[int], deliveries: Sequence[Delivery]) -> list[dict[str, Any]]:
    done = {d.claim.message.id for d in deliveries}
    return [
        {
            "id": i,
            "channel": "",
            "destination": "",
            "ok": False,
            "attempt": 0,
            "state": "pending",
            "answer": "not sent now (rate limit, an older message for its key, or another node "
            "is sending it); the worker will deliver it",
        }
        for i in ids
        if i not in done
    ]


def _print_deliveries(heading: str, results: Sequence[dict[str, Any]]) -> None:
    table = Table(title=Text(heading), title_justify="left", expand=False)
    for column in ("id", "destination", "result", "answer"):
        table.add_column(column.upper(), overflow="fold")
    for r in sorted(results, key=lambda r: int(r["id"])):
        mark = Text("sent", "green") if r["ok"] else Text(r["state"], "red")
        table.add_row(str(r["id"]), Text(r["destination"]), mark, Text(r["answer"]))
    console.print(table)


StateOption = Annotated[
    list[MessageState] | None,
    typer.Option("--state", help="Only messages in this state (repeatable)."),
]


@app.command("outbox")
def outbox_command(
    failed: Annotated[bool, typer.Option("--failed", help="Only failed messages.")] = False,
    state: StateOption = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many, newest first.")
    ] = 50,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """List outbox messages (pending, sending, sent, failed) with attempts and last errors.

    Also shows every destination that is failing. Newest messages first.
    """
    cfg = open_config(config)
    ChannelSet.from_config(cfg)  # teaches the redactor every URL secret before anything prints
    states = [*(state or []), *([MessageState.FAILED] if failed else [])]
    db = open_database(cfg)
    try:
        with db.read() as session:
            rows = notify.messages(session, states=states, channel=channel, limit=limit)
            counts = notify.counts(session)
            destinations = health.destinations(session)
            messages = [schema.message_json(r, cfg.redactor) for r in rows]
            dests = [schema.destination_json(d, cfg.redactor) for d in destinations]
    finally:
        db.dispose()
    if json:
        emit_json({"counts": counts, "messages": messages, "destinations": dests})
        return
    _print_outbox(messages, counts)
    for d in dests:
        if d["failing"]:
            text = (
                f"channel {d['channel']}: {d['destination']} is failing since "
                f"{d['failing_since']:%Y-%m-%d %H:%M:%S} ({d['consecutive_failures']} failures "
                f"in a row): {d['last_error']}"
            )
            warn(escape(text))


def _when(message: dict[str, Any]) -> str:
    moment = message["sent_at"] or message["next_attempt_at"] or message["last_attempt_at"]
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else ""


def _print_outbox(messages: Sequence[dict[str, Any]], counts: dict[str, int]) -> None:
    table = Table(expand=False)
    for column in (
        "id",
        "channel",
        "destination",
        "event",
        "key",
        "state",
        "tries",
        "when",
        "last error",
    ):
        table.add_column(column.upper(), overflow="fold")
    colours = {"sent": "green", "failed": "red", "pending": "yellow", "sending": "cyan"}
    for m in messages:
        table.add_row(
            str(m["id"]),
            Text(m["channel"]),
            Text(m["destination"]),
            m["event"],
            Text(m["key"]),
            Text(m["state"], colours[m["state"]]),
            f"{m['attempts']}/{m['max_attempts']}",
            _when(m),
            Text(m["last_error"]),
        )
    if messages:
        console.print(table)
    else:
        console.print("No messages.")
    console.print(", ".join(f"{n} {state}" for state, n in counts.items()))


@app.command("retry")
def retry_command(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Outbox message ids.", show_default=False)
    ] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed message.")] = False,
    queue_only: Annotated[
        bool, typer.Option("--queue-only", help="Queue them for the worker; do not send now.")
    ] = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Queue failed (or pending) messages again with a fresh attempt budget, and send them now.

    Exit 1 when one of them is not accepted this time (it stays queued, with back-off).
    """
    if not ids and not all_failed:
        raise UsageError("name message ids or give --all-failed")
    cfg = open_config(config)
    channels = ChannelSet.from_config(cfg)
    clock = SystemClock()
    db = open_database(cfg)
    try:
        with db.write() as session:
            chosen = [
                m.id
                for m in notify.retry(
                    session, clock, ids=ids or [], all_failed=all_failed, actor=_actor()
                )
            ]
        deliveries = (
            [] if queue_only or not chosen else _deliver_now(db, clock, channels, cfg, chosen)
        )
    finally:
        db.dispose()
    results = [schema.delivery_json(d, cfg.redactor) for d in deliveries]
    if not queue_only:
        results += _not_attempted(chosen, deliveries)
    ok = all(r["ok"] for r in results)
    if json:
        emit_json({"queued": chosen, "ok": ok, "results": results})
    elif queue_only or not chosen:
        console.print(f"Queued {len(chosen)} message(s): {', '.join(map(str, chosen)) or 'none'}")
    else:
        _print_deliveries(f"Retried {len(chosen)} message(s)", results)
    if not ok:
        raise typer.Exit(1)
