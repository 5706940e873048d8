"""Several workers on one PostgreSQL: every message is sent once, by exactly one of them."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from opsbook.clock import FakeClock
from opsbook.notify import service as notify
from opsbook.notify.transports import Sender
from opsbook.notify.worker import DeliveryWorker
from opsbook.storage import Database
from tests.conftest import _truncate_all
from tests.notify.conftest import make_channels, webhook
from tests.notify.receivers import WebhookReceiver

pytestmark = pytest.mark.postgres

MESSAGES = 120


@pytest.fixture
def two_nodes(request: pytest.FixtureRequest) -> Iterator[tuple[Database, Database]]:
    url = request.getfixturevalue("_postgres_url")
    first, second = Database(url), Database(url)
    _truncate_all(first)
    yield first, second
    first.dispose()
    second.dispose()


def test_two_workers_on_postgres_never_send_the_same_message_twice(
    two_nodes: tuple[Database, Database], clock: FakeClock, receiver: WebhookReceiver
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    with two_nodes[0].write() as session:
        for n in range(MESSAGES):
            notify.enqueue(
                session,
                clock,
                channel="ops",
                key=f"k{n}",
                event="trigger",
                title=f"message {n}",
                body="b",
                channels=channels,
            )
    start = threading.Barrier(2)
    sent: dict[str, int] = {}

    def node(name: str, db: Database) -> None:
        worker = DeliveryWorker(
            db, clock, channels, node_id=name, batch_size=5, rand=random.Random(1)
        )

        async def deliver_all() -> int:
            total = 0
            async with Sender() as sender:
                start.wait()
                while batch := await worker.run_once(sender):
                    total += len(batch)
            return total

        sent[name] = asyncio.run(deliver_all())

    threads = [
        threading.Thread(target=node, args=(f"node-{i}", db)) for i, db in enumerate(two_nodes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    titles = Counter(body["text"] for body in receiver.bodies())
    assert len(titles) == MESSAGES
    assert max(titles.values()) == 1
    assert sum(sent.values()) == MESSAGES
    assert min(sent.values()) > 0  # both nodes really did share the work
