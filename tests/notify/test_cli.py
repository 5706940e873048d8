from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opsbook.cli.context import open_database
from opsbook.clock import SystemClock
from opsbook.config import load_config
from opsbook.notify import service as notify
from opsbook.notify.destinations import ChannelSet
from tests.conftest import CliResult
from tests.notify.receivers import WebhookReceiver

Cli = Callable[..., CliResult]
SECRET = "pw-Qz7-hidden"


@pytest.fixture
def config_file(tmp_path: Path, receiver: WebhookReceiver) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        "channels:\n"
        f"  ops: [slack+http://bob:{SECRET}@{receiver.base}/hook]\n"
        "  pair:\n"
        f"    - json://{receiver.base}/one\n"
        f"    - json://{receiver.base}/two\n"
        "    - slack+http://127.0.0.1:9/closed\n"
    )
    return path


def _queue(config_file: Path, channel: str, key: str, event: str = "trigger") -> list[int]:
    config = load_config(config_file, env={})
    channels = ChannelSet.from_config(config)
    db = open_database(config)
    try:
        with db.write() as session:
            rows = notify.enqueue(
                session,
                SystemClock(),
                channel=channel,
                key=key,
                event=event,
                title=f"title {key}",
                body="body",
                channels=channels,
            )
            return [r.id for r in rows]
    finally:
        db.dispose()


def _outbox(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("notify", "outbox", "--json", *args)
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_notify_test_reports_each_receivers_answer(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    result = cli("notify", "test", "ops", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    [answer] = document["results"]
    assert (answer["ok"], answer["answer"], answer["state"]) == (True, "HTTP 200: ok", "sent")
    assert receiver.bodies()[0]["text"].startswith("[TEST] Test message for channel ops")


def test_notify_test_exits_1_when_a_receiver_fails(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    result = cli("notify", "test", "pair")
    assert result.exit_code == 1
    assert result.stdout.count("sent") == 2
    assert "could not reach the receiver" in result.stdout
    assert len(receiver.received) == 2


def test_notify_test_of_an_unknown_channel_is_bad_input(cli: Cli, config_file: Path) -> None:
    result = cli("notify", "test", "opz")
    assert result.exit_code == 2
    assert "unknown channel 'opz' (did you mean 'ops'?)" in result.stderr


def test_notify_outbox_lists_pending_sent_and_failed_with_last_errors(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    cli("notify", "test", "pair")
    _queue(config_file, "ops", "alert:disk")
    document = _outbox(cli)
    assert document["counts"] == {"pending": 1, "sending": 0, "sent": 2, "failed": 1}
    newest = document["messages"][0]
    assert (newest["key"], newest["state"], newest["attempts"]) == ("alert:disk", "pending", 0)
    [failed] = [m for m in document["messages"] if m["state"] == "failed"]
    assert failed["destination"] == "slack+http://127.0.0.1:9/closed"
    assert "could not reach the receiver" in failed["last_error"]
    table = cli("notify", "outbox")
    assert table.exit_code == 0
    assert "alert:disk" in table.stdout and "1 pending, 0 sending, 2 sent, 1 failed" in table.stdout


def test_notify_outbox_warns_about_a_failing_destination(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    receiver.refuse(503, "[maintenance] back soon")
    for n in range(3):
        _queue(config_file, "ops", f"alert:{n}")
    cli("notify", "retry", "1", "2", "3")
    result = cli("notify", "outbox")
    assert "ops: slack+http://bob:••••••@" in result.stderr
    assert "failures in a row): HTTP 503: [maintenance] back soon" in result.stderr


def test_notify_outbox_failed_shows_only_failed_messages(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    cli("notify", "test", "pair")
    assert {m["state"] for m in _outbox(cli, "--failed")["messages"]} == {"failed"}
    assert [m["channel"] for m in _outbox(cli, "--channel", "ops")["messages"]] == []


def test_notify_retry_queues_a_failed_message_again_and_sends_it(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    receiver.refuse(404, "no such hook")
    cli("notify", "test", "ops")
    [failed] = _outbox(cli, "--failed")["messages"]
    receiver.accept()
    result = cli("notify", "retry", str(failed["id"]), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["state"] == "sent"
    assert _outbox(cli)["counts"]["failed"] == 0
    assert len(receiver.received) == 1


def test_notify_retry_exits_1_when_a_message_fails_again_and_keeps_it_queued(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    [message_id] = _queue(config_file, "ops", "alert:disk")
    receiver.refuse(503, "busy")
    result = cli("notify", "retry", str(message_id))
    assert result.exit_code == 1
    assert "HTTP 503: busy" in result.stdout
    [pending] = _outbox(cli, "--state", "pending")["messages"]
    assert (pending["attempts"], pending["last_error"]) == (1, "HTTP 503: busy")


def test_notify_retry_all_failed_gives_test_messages_their_one_attempt_again(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    cli("notify", "test", "pair")
    result = cli("notify", "retry", "--all-failed", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [r["state"] for r in document["results"]] == ["failed"]
    assert len(document["queued"]) == 1


def test_notify_retry_refuses_a_sent_message_and_unknown_ids(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    cli("notify", "test", "ops")
    [sent] = _outbox(cli)["messages"]
    refused = cli("notify", "retry", str(sent["id"]))
    assert refused.exit_code == 1
    assert "was already sent" in refused.stderr
    assert cli("notify", "retry", "999").exit_code == 2
    assert cli("notify", "retry").exit_code == 2


def test_url_secrets_never_appear_in_cli_output(
    cli: Cli, config_file: Path, receiver: WebhookReceiver
) -> None:
    receiver.down()
    outputs = [
        cli("notify", "test", "ops"),
        cli("notify", "test", "ops", "--json"),
        cli("notify", "outbox"),
        cli("notify", "outbox", "--json"),
        cli("notify", "retry", "--all-failed", "--json"),
    ]
    text = "".join(r.stdout + r.stderr for r in outputs)
    assert "bob:••••••@" in text
    assert SECRET not in text
