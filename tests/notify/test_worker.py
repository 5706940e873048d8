from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from opsbook import runtime
from opsbook.clock import FakeClock, SystemClock
from opsbook.errors import ConfigError
from opsbook.notify import service as notify
from opsbook.notify import wakeup
from opsbook.notify.destinations import ChannelSet, active_channels, use_channels
from opsbook.notify.worker import DeliveryWorker, factory
from opsbook.storage import Database
from tests.notify.conftest import make_channels, make_config, webhook
from tests.notify.receivers import WebhookReceiver


@pytest.fixture(autouse=True)
def _restore_process_channels() -> Iterator[None]:
    previous = use_channels(None)
    yield
    use_channels(previous)


class Running:
    """Runs workers through the runtime's supervisor in a thread, like `opsbook watch` does."""

    def __init__(self, *workers: runtime.Worker) -> None:
        self.stop = asyncio.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete,
            args=(runtime.run_workers(list(workers), self.stop),),
        )

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=10)
        self.loop.close()


def _poll(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _attempted(db: Database, count: int) -> bool:
    with db.read() as session:
        return sum(1 for m in notify.messages(session) if m.attempts >= 1) == count


def _enqueue(db: Database, channels: ChannelSet, key: str) -> None:
    with db.write() as session:
        notify.enqueue(
            session,
            SystemClock(),
            channel="ops",
            key=key,
            event="trigger",
            title=key,
            body="b",
            channels=channels,
        )


def test_the_worker_loop_delivers_new_messages_at_once_and_stops_when_told(
    db: Database, receiver: WebhookReceiver
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    worker = DeliveryWorker(db, SystemClock(), channels, node_id="n1", poll=30.0)
    with Running(worker) as running:
        _poll(lambda: bool(wakeup._waiters))  # the worker is in its loop; it polls every 30 s
        started = time.monotonic()
        _enqueue(db, channels, "first")
        receiver.wait_for(1, timeout=5)
        assert time.monotonic() - started < 2  # woken by the commit, not by its poll
        _enqueue(db, channels, "second")
        receiver.wait_for(2, timeout=5)
    assert not running.thread.is_alive()
    assert [b["text"] for b in receiver.bodies()] == ["[FIRING] first", "[FIRING] second"]


def test_a_new_worker_on_the_same_store_finishes_what_a_stopped_one_left(
    db: Database, receiver: WebhookReceiver
) -> None:
    channels = make_channels(
        {
            "ops": {
                "urls": [webhook(receiver)],
                "backoff_initial": 0.2,
                "backoff_max": 0.2,
                "backoff_jitter": 0,
            }
        }
    )
    receiver.down()
    for n in range(3):
        _enqueue(db, channels, f"m{n}")
    with Running(DeliveryWorker(db, SystemClock(), channels, node_id="n1", poll=0.05)):
        _poll(lambda: _attempted(db, 3))  # it tried, failed, and will retry later
    receiver.up()
    with Running(DeliveryWorker(db, SystemClock(), channels, node_id="n2", poll=0.05)):
        receiver.wait_for(3)
    assert sorted(b["text"] for b in receiver.bodies()) == [
        "[FIRING] m0",
        "[FIRING] m1",
        "[FIRING] m2",
    ]


def test_the_runtime_starts_the_notify_worker_when_channels_are_configured(
    db: Database,
) -> None:
    config = make_config({"ops": ["json://bob:pw-s3cret@127.0.0.1:9/h"]})
    assert factory in runtime.worker_factories()
    built = factory(runtime.Runtime(config, db))
    assert isinstance(built, DeliveryWorker)
    assert "ops" in active_channels()
    assert "pw-s3cret" not in config.redactor.redact("pw-s3cret")


def test_a_message_queued_through_the_runtimes_channels_arrives(
    db: Database, receiver: WebhookReceiver
) -> None:
    config = make_config(
        {
            "pagerduty": {
                "urls": ["pagerduty://RK-0123456789"],
                "pagerduty_url": f"http://{receiver.base}/v2/enqueue",
            }
        }
    )
    rt = runtime.Runtime(config, db)
    workers = [w for f in runtime.worker_factories() if (w := f(rt)) is not None]
    receiver.answer.status = 202
    with Running(*workers):
        with db.write() as session:  # as the alerts worker does: no channels= argument
            notify.enqueue(
                session,
                rt.clock,
                channel="pagerduty",
                key="alert:db:down",
                event="trigger",
                title="DB down",
                body="b",
                severity="P1",
            )
        [request] = receiver.wait_for(1)
    assert request.json["dedup_key"] == "alert:db:down"
    assert request.json["payload"]["severity"] == "critical"


def test_no_worker_without_channels(db: Database) -> None:
    assert factory(runtime.Runtime(make_config({}), db)) is None


def test_a_bad_destination_url_stops_the_start(db: Database) -> None:
    config = make_config({"ops": ["nosuchscheme://x"]})
    with pytest.raises(ConfigError, match=r"channels.ops.urls\[0\]: nosuchscheme://"):
        factory(runtime.Runtime(config, db))


def test_channel_health_reaches_the_metrics_store(db: Database, clock: FakeClock) -> None:
    from opsbook.config import config_from_data
    from opsbook.metrics import query
    from opsbook.metrics.worker import shared_writer
    from opsbook.notify.worker import health_factory

    config = config_from_data({"channels": {"ops": ["json://127.0.0.1:9/hook"]}})
    rt = runtime.Runtime(config=config, db=db, clock=clock)
    publisher = health_factory(rt)
    assert publisher is not None
    assert publisher.publish() >= 1
    assert shared_writer(rt).flush()
    with db.read() as session:
        [value] = query.latest(session, "notify_channel_failing", {"channel": "ops"})
    assert value.value == 0.0
