from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opsbook.clock import FakeClock
from opsbook.config import Config, config_from_data
from opsbook.notify.delivery import Delivery
from opsbook.notify.destinations import ChannelSet
from opsbook.notify.worker import DeliveryWorker
from opsbook.storage import Database
from tests.notify.receivers import SmtpSink, WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.down()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


def make_config(channels: dict[str, Any]) -> Config:
    return config_from_data({"channels": channels})


def make_channels(channels: dict[str, Any]) -> ChannelSet:
    return ChannelSet.from_config(make_config(channels))


def webhook(receiver: WebhookReceiver, path: str = "/hook") -> str:
    """A Slack-compatible webhook URL on the receiver (sent by opsbook over httpx)."""
    return f"slack+http://{receiver.base}{path}"


def json_hook(receiver: WebhookReceiver, path: str = "/json") -> str:
    """An Apprise json:// URL on the receiver."""
    return f"json://{receiver.base}{path}"


@pytest.fixture
def worker_for(db: Database, clock: FakeClock) -> Callable[..., DeliveryWorker]:
    def build(channels: ChannelSet, node: str = "node-a") -> DeliveryWorker:
        return DeliveryWorker(db, clock, channels, node_id=node, rand=random.Random(7))

    return build


def run_once(worker: DeliveryWorker) -> list[Delivery]:
    return asyncio.run(worker.run_once())
