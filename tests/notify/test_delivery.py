from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import timedelta

from opsbook.clock import FakeClock
from opsbook.journal import service as journal
from opsbook.notify import claims, delivery, health, receipts
from opsbook.notify import service as notify
from opsbook.notify.destinations import ChannelSet
from opsbook.notify.model import Outcome
from opsbook.notify.tables import OutboxMessage
from opsbook.notify.transports import Sender
from opsbook.notify.worker import DeliveryWorker
from opsbook.storage import Database
from tests.notify.conftest import json_hook, make_channels, run_once, webhook
from tests.notify.receivers import WebhookReceiver

Worker = Callable[..., DeliveryWorker]


def _enqueue(
    db: Database,
    clock: FakeClock,
    channels: ChannelSet,
    *,
    key: str = "alert:disk",
    event: str = "trigger",
    channel: str = "ops",
    title: str = "Disk almost full",
) -> list[int]:
    with db.write() as session:
        rows = notify.enqueue(
            session,
            clock,
            channel=channel,
            key=key,
            event=event,
            title=title,
            body="/var is 95% full",
            severity="critical",
            url="https://runbooks.example/db.md#disk",
            channels=channels,
        )
        return [r.id for r in rows]


def _row(db: Database, message_id: int) -> OutboxMessage:
    with db.read() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def test_a_message_is_delivered_exactly_once(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver), json_hook(receiver)]})
    ids = _enqueue(db, clock, channels)
    _enqueue(db, clock, channels)  # the same key and event again: nothing new
    worker = worker_for(channels)
    assert len(run_once(worker)) == 2
    clock.advance(3600)
    assert run_once(worker) == []
    assert sorted(r.path for r in receiver.received) == ["/hook", "/json"]
    slack, apprise = sorted(receiver.received, key=lambda r: r.path)
    assert "https://runbooks.example/db.md#disk" in slack.json["attachments"][0]["text"]
    assert apprise.json["title"] == "[FIRING:CRITICAL] Disk almost full"
    assert all(_row(db, i).state == "sent" for i in ids)
    with db.read() as session:
        sent = journal.entries(session, action_prefix="notify.sent")
    assert sorted(e.subject_id for e in sent) == sorted(str(i) for i in ids)


def test_a_receiver_down_for_minutes_gets_the_message_once_it_is_back(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    [message_id] = _enqueue(db, clock, channels)
    worker = worker_for(channels)
    receiver.down()
    for _ in range(10):  # ten minutes of a receiver that is not there
        run_once(worker)
        clock.advance(60)
    row = _row(db, message_id)
    assert row.state == "pending"
    assert row.attempts >= 5
    assert "could not reach the receiver" in row.last_error
    receiver.up()
    clock.advance(600)
    run_once(worker)
    clock.advance(3600)
    run_once(worker)
    assert len(receiver.received) == 1
    row = _row(db, message_id)
    assert row.state == "sent"
    assert row.receipt["ok"] is True
    assert row.receipt["http_status"] == 200


def test_a_refusing_receiver_is_retried_with_back_off_until_failed(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels(
        {
            "ops": {
                "urls": [webhook(receiver)],
                "max_attempts": 4,
                "backoff_initial": "10s",
                "backoff_max": "25s",
                "backoff_jitter": 0,
            }
        }
    )
    [message_id] = _enqueue(db, clock, channels)
    receiver.refuse(503, "overloaded")
    worker = worker_for(channels)
    waits = []
    for _ in range(4):
        started = clock.now()
        assert len(run_once(worker)) == 1
        row = _row(db, message_id)
        if row.state == "pending":
            waits.append((row.next_attempt_at - started).total_seconds())
            assert run_once(worker) == []  # not due yet
            clock.set(row.next_attempt_at)
    assert waits == [10.0, 20.0, 25.0]
    row = _row(db, message_id)
    assert (row.state, row.attempts) == ("failed", 4)
    assert row.last_error == "HTTP 503: overloaded"
    assert len(receiver.refused) == 4


def test_a_permanent_error_fails_at_once(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    [message_id] = _enqueue(db, clock, channels)
    receiver.refuse(404, "no_service")
    run_once(worker_for(channels))
    row = _row(db, message_id)
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "HTTP 404: no_service")


def test_a_receivers_retry_after_is_honoured(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    [message_id] = _enqueue(db, clock, channels)
    receiver.refuse(429, "slow down", **{"Retry-After": "120"})
    run_once(worker_for(channels))
    row = _row(db, message_id)
    assert row.next_attempt_at - clock.now() == timedelta(seconds=120)


def test_a_resolve_waits_for_its_trigger(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    _enqueue(db, clock, channels, event="trigger")
    receiver.refuse(503)
    worker = worker_for(channels)
    run_once(worker)  # the trigger fails and waits for its retry
    _enqueue(db, clock, channels, event="resolve")
    receiver.accept()
    assert run_once(worker) == []  # the resolve may not overtake the trigger
    clock.advance(3600)
    run_once(worker)
    run_once(worker)
    events = [b["attachments"][0]["fields"][0]["value"] for b in receiver.bodies()]
    assert events == ["trigger", "resolve"]


def test_messages_of_one_key_go_in_the_order_they_were_queued(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    first = _enqueue(db, clock, channels, event="trigger")
    second = _enqueue(db, clock, channels, event="resolve")
    third = _enqueue(db, clock, channels, event="reminder")
    assert [_row(db, i).after_id for i in (*second, *third)] == [*first, *second]
    worker = worker_for(channels)
    while run_once(worker):
        pass
    events = [b["attachments"][0]["fields"][0]["value"] for b in receiver.bodies()]
    assert events == ["trigger", "resolve", "reminder"]


def test_a_message_does_not_wait_for_one_that_failed(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    _enqueue(db, clock, channels, event="trigger")
    receiver.refuse(404, "gone")
    run_once(worker_for(channels))  # the trigger fails for good
    receiver.accept()
    [resolve] = _enqueue(db, clock, channels, event="resolve")
    assert _row(db, resolve).after_id is None
    assert len(run_once(worker_for(channels))) == 1


def test_a_restart_mid_way_neither_loses_nor_doubles(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    for n in range(6):
        _enqueue(db, clock, channels, key=f"k{n}", title=f"message {n}")
    first = worker_for(channels, "node-a")
    first.batch_size = 2
    run_once(first)  # two delivered before the "crash"
    with db.write() as session:  # the crash: two more claimed, never sent
        lost = claims.claim_due(session, clock.now(), node="node-a", channels=channels, limit=2)
    assert len(lost) == 2
    second = worker_for(channels, "node-b")
    run_once(second)  # the orphans are still claimed; only the two never claimed go
    assert len(receiver.received) == 4
    clock.advance(claims.claim_lease(channels.get("ops").settings) + 1)
    run_once(second)
    run_once(second)
    titles = sorted(b["text"] for b in receiver.bodies())
    assert titles == sorted(f"[FIRING:CRITICAL] message {n}" for n in range(6))


def test_a_node_paused_past_its_claim_neither_sends_nor_records(
    db: Database, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    settings = channels.get("ops").settings
    _enqueue(db, clock, channels)
    with db.write() as session:
        [paused] = claims.claim_due(session, clock.now(), node="node-a", channels=channels)
    clock.advance(claims.claim_lease(settings) + 1)
    with db.write() as session:
        [taken] = claims.claim_due(session, clock.now(), node="node-b", channels=channels)
    with db.read() as session:
        assert claims.still_held(session, [paused, taken], clock.now()) == {taken.message.id}
    with db.write() as session:
        recorded = receipts.record(
            session,
            clock,
            claim=paused,
            outcome=Outcome(True, "HTTP 200"),
            settings=settings,
            rand=random.Random(1),
        )
    assert recorded is None
    assert _row(db, taken.message.id).state == "sending"


def test_a_rate_limited_channel_waits_for_its_next_slot(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels({"ops": {"urls": [webhook(receiver)], "rate": "2/1m"}})
    for n in range(5):
        _enqueue(db, clock, channels, key=f"k{n}")
    worker = worker_for(channels)
    assert len(run_once(worker)) == 2
    clock.advance(30)
    assert run_once(worker) == []
    clock.advance(31)
    assert len(run_once(worker)) == 2
    clock.advance(61)
    assert len(run_once(worker)) == 1
    assert len(receiver.received) == 5


def test_a_destination_removed_from_the_config_fails_its_messages(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    before = make_channels({"ops": [webhook(receiver, "/old")]})
    [message_id] = _enqueue(db, clock, before)
    after = make_channels({"ops": [webhook(receiver, "/new")]})
    assert run_once(worker_for(after)) == []
    row = _row(db, message_id)
    assert row.state == "failed"
    assert "no longer has the destination" in row.last_error
    assert receiver.received == []


def test_a_failing_destination_flips_once_and_recovers(
    db: Database, clock: FakeClock, receiver: WebhookReceiver, worker_for: Worker
) -> None:
    channels = make_channels(
        {
            "ops": {"urls": [webhook(receiver)], "failing_after": 2},
            "email": ["json://127.0.0.1:9/x"],
        }
    )
    _enqueue(db, clock, channels)
    receiver.refuse(500, "boom")
    worker = worker_for(channels)
    for _ in range(4):
        run_once(worker)
        clock.advance(3600)
    with db.read() as session:
        [state] = health.destinations(session)
        assert state.consecutive_failures == 4
        assert health.failing_channels(session) == ["ops"]
        samples = health.metric_samples(session, clock.now(), channels.names)
        failing = {
            s.labels["channel"]: s.value for s in samples if s.name == "notify_channel_failing"
        }
        assert failing == {"email": 0.0, "ops": 1.0}
    receiver.accept()
    run_once(worker)
    with db.read() as session:
        assert health.failing_channels(session) == []
        flips = [e.action for e in journal.entries(session, action_prefix="notify.destination")]
    assert flips == ["notify.destination_recovered", "notify.destination_failing"]


def test_a_send_check_drops_claims_taken_over_while_waiting(
    db: Database, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    channels = make_channels({"ops": [webhook(receiver)]})
    _enqueue(db, clock, channels)

    async def deliver() -> list[delivery.Delivery]:
        async with Sender() as sender:
            return await delivery.deliver_due(
                db, clock, channels, sender, node="node-a", rand=random.Random(1)
            )

    assert len(asyncio.run(deliver())) == 1
    assert asyncio.run(deliver()) == []
    assert len(receiver.received) == 1
