"""`opsbook watch` as a real process: an http check against a target that starts failing, the
rule fires, the page waits while the receiver is down, the process is stopped and started
again, the page arrives once, and recovery sends one resolved message.

The process is stopped with SIGTERM: a killed process leaves its checks claimed until their
claims expire, which would make this test wait half a minute; the loss of a process's memory
mid-way is covered with a fake clock in test_end_to_end.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opsbook.alerts import queries
from opsbook.storage import Database
from tests.alerts.test_end_to_end import Target
from tests.notify.receivers import WebhookReceiver

CONFIG = """\
database_url: sqlite:///{store}
checks:
  - {{name: api, type: http, url: "{target}", interval: 1s, timeout: 800ms}}
channels:
  oncall:
    urls: ["json://{receiver}/hook"]
    backoff_initial: 1s
    backoff_max: 2s
    backoff_jitter: 0
alerting: {{interval: 1s, group_interval: 1s}}
alerts:
  - name: api_down
    condition: check_up{{check="api"}} < 1
    for: 3s
    severity: critical
    channels: [oncall]
    message: The API health check fails
    runbook: runbooks/web.md#api-down
"""


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Watch:
    def __init__(self, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")}
        with (config.parent / "watch.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "opsbook",
                    "watch",
                    "--config",
                    str(config),
                    "--node-id",
                    "e2e",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.down()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.mark.slow
def test_a_restarted_watch_pages_once_through_a_receiver_outage_and_resolves_once(
    tmp_path: Path, receiver: WebhookReceiver, target: Target
) -> None:
    store = tmp_path / "opsbook.db"
    config = tmp_path / "opsbook.yaml"
    config.write_text(CONFIG.format(store=store, target=target.url, receiver=receiver.base))
    watch = Watch(config)
    db = Database(f"sqlite:///{store}")

    def states() -> list[str]:
        try:
            with db.read() as session:
                return [a.state for a in queries.current(session, states=("pending", "firing"))]
        except Exception:  # the store is still being created by the process
            return []

    try:
        time.sleep(2)  # a few healthy runs
        receiver.down()
        target.failing = True
        wait_for("the alert to fire", lambda: states() == ["firing"])
        time.sleep(1.5)  # the page is queued and its first attempts fail
        watch.stop()
        assert receiver.received == []
        receiver.up()
        watch = Watch(config)
        page = receiver.wait_for(1, timeout=30)[0]
        assert page.json["title"] == "[FIRING:CRITICAL] api_down: The API health check fails"
        assert "Runbook: runbooks/web.md#api-down" in page.json["message"]
        target.failing = False
        receiver.wait_for(2, timeout=30)
        time.sleep(3)  # nothing more may come
        titles = [r.json["title"] for r in receiver.received]
        assert titles == [page.json["title"], "[RESOLVED] api_down: The API health check fails"]
    finally:
        watch.stop()
        db.dispose()
