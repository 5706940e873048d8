"""From a failing HTTP target to the webhook receiver, with real parts: an HTTP server the test
starts and an `http` check probing it, the store (SQLite and PostgreSQL), the rule evaluator,
the notification outbox with its delivery worker, and a webhook receiver on loopback that goes
down for a while. Time is a fake clock moved by hand, so minutes pass in a second."""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opsbook.alerts import queries
from opsbook.alerts.notifier import outbox_enqueue
from opsbook.alerts.rules import load_rules
from opsbook.alerts.worker import Evaluator
from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_once
from opsbook.clock import FakeClock
from opsbook.config import Config, load_config
from opsbook.metrics.store import write_samples
from opsbook.notify.destinations import ChannelSet, use_channels
from opsbook.notify.worker import DeliveryWorker
from opsbook.storage import Database
from tests.notify.receivers import WebhookReceiver


class Target:
    """An HTTP service on 127.0.0.1 that answers 200, or 500 once `failing` is set."""

    def __init__(self) -> None:
        self.failing = False
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = 500 if target.failing else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def probe(db: Database, clock: FakeClock, config: Config) -> None:
    """One run of the configured HTTP check, its samples written as `opsbook watch` writes them."""
    [result] = asyncio.run(run_once(config.settings.checks, ProbeContext(config, clock)))
    with db.write() as session:
        write_samples(session, result.samples)


CONFIG = """\
database_url: {database_url}
checks:
  - {{name: api, type: http, url: "{target}", timeout: 5s}}
channels:
  oncall: ["json://{receiver}/hook"]
alerting:
  interval: 30s
  group_interval: 30s
alerts:
  - name: api_errors
    condition: error_rate > 30%
    for: 2m
    severity: critical
    channels: [oncall]
    message: "API error rate is {{{{ $value }}}}"
    runbook: runbooks/web.md#api-errors
"""


class Node:
    """One opsbook process: its own store connection, evaluator and delivery worker."""

    def __init__(self, config: Config, clock: FakeClock, name: str) -> None:
        self.db = Database(config.database_url)
        channels = ChannelSet.from_config(config)
        use_channels(channels)
        self.evaluator = Evaluator(
            self.db,
            clock,
            load_rules(config),
            node_id=name,
            enqueue=outbox_enqueue(),
            interval=30,
        )
        self.delivery = DeliveryWorker(
            self.db, clock, channels, node_id=name, rand=random.Random(1)
        )

    def tick(self, config: Config, clock: FakeClock) -> None:
        probe(self.db, clock, config)
        self.evaluator.cycle()
        asyncio.run(self.delivery.run_once())

    def stop(self) -> None:
        self.db.dispose()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.down()


def test_a_failing_target_pages_once_survives_a_down_receiver_and_a_restart_and_resolves_once(
    db: Database, clock: FakeClock, target: Target, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.format(database_url=db.url, receiver=receiver.base, target=target.url))
    config = load_config(path, env={})
    node = Node(config, clock, "node-a")

    def run(minutes: float) -> None:
        for _ in range(int(minutes * 2)):
            node.tick(config, clock)
            clock.advance(30)

    run(5)  # healthy
    assert receiver.received == []

    target.failing = True
    run(1.5)  # error rate crosses 30% and the alert is pending
    with node.db.read() as session:
        assert [a.state for a in queries.current(session)] == ["pending"]
    receiver.down()  # the receiver goes away before the alert fires
    run(4)
    with node.db.read() as session:
        assert [a.state for a in queries.current(session)] == ["firing"]
    assert receiver.received == []

    node.stop()  # the process restarts while the page waits for the receiver
    node = Node(config, clock, "node-a")
    receiver.up()
    run(3)
    [page] = receiver.received
    assert re.fullmatch(
        r"\[FIRING:CRITICAL\] api_errors: API error rate is \d+%", page.json["title"]
    )
    assert "Runbook: runbooks/web.md#api-errors" in page.json["message"]

    target.failing = False
    run(8)
    [_, resolved] = receiver.received
    assert resolved.json["title"].startswith("[RESOLVED]")
    run(5)
    assert len(receiver.received) == 2
    with node.db.read() as session:
        [alert] = queries.current(session, states=("resolved",))
        moves = [(t.from_state, t.to_state) for t in queries.transitions(session, alert.id)]
    assert moves == [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")]
    node.stop()
