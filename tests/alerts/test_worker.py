from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from opsbook.alerts import queries
from opsbook.alerts.source import StoreReader
from opsbook.alerts.worker import AlertsWorker, Evaluator
from opsbook.clock import FakeClock
from opsbook.metrics.store import Sample, write_samples
from opsbook.storage import Database
from tests.alerts.conftest import Outbox, make_rule


def write(db: Database, clock: FakeClock, value: float, ago: float = 0) -> None:
    at = clock.now() - timedelta(seconds=ago)
    with db.write() as session:
        write_samples(session, [Sample("check_up", {"check": "api"}, value, at)])


def test_the_worker_fires_when_for_ends_not_at_the_next_tick(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    rule = make_rule(condition="check_up < 1", channels=[], **{"for": "90s"})
    evaluator = Evaluator(db, clock, [rule], node_id="a", enqueue=outbox, interval=60)
    write(db, clock, 0.0)
    stop = asyncio.Event()
    start = clock.now()

    async def drive() -> None:
        task = asyncio.create_task(AlertsWorker(evaluator).run(stop))
        while clock.now() < start + timedelta(seconds=200):
            write(db, clock, 0.0)
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(drive())
    with db.read() as session:
        [alert] = queries.current(session, states=("firing",))
    assert alert.active_at == start
    assert alert.fired_at == start + timedelta(seconds=90)  # ticks are at 0, 60, 120 s


def test_the_reader_picks_up_samples_written_late_within_its_margin(
    db: Database, clock: FakeClock
) -> None:
    reader = StoreReader(late_margin=10)
    write(db, clock, 1.0)
    with db.read() as session:
        reader.snapshot(session, {"check_up": 300}, clock.now(), 300)
    clock.advance(15)
    write(db, clock, 0.5, ago=8)  # a batch that landed 8 s late
    write(db, clock, 0.25)
    with db.read() as session:
        source = reader.snapshot(session, {"check_up": 300}, clock.now(), 300)
    [points] = source.series["check_up"].values()
    assert [v for _, v in points] == [1.0, 0.5, 0.25]
    clock.advance(400)
    write(db, clock, 0.0)
    with db.read() as session:
        source = reader.snapshot(session, {"check_up": 300}, clock.now(), 300)
    [points] = source.series["check_up"].values()
    assert [v for _, v in points] == [0.0]


def test_a_rule_that_cannot_be_evaluated_keeps_its_alerts_and_the_others_run(
    db: Database, clock: FakeClock, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broken = make_rule(condition="disk_usage > on() memory_usage", channels=[])
    broken = replace(broken, name="broken")
    working = make_rule(condition="check_up < 1", channels=[])
    with db.write() as session:
        write_samples(
            session,
            [
                Sample("disk_used_ratio", {"check": "a", "mount": "/"}, 0.5, clock.now()),
                Sample("memory_used_ratio", {"check": "m1"}, 0.5, clock.now()),
                Sample("memory_used_ratio", {"check": "m2"}, 0.5, clock.now()),
                Sample("check_up", {"check": "api"}, 0.0, clock.now()),
            ],
        )
    evaluator = Evaluator(db, clock, [broken, working], node_id="a", enqueue=outbox)
    evaluator.cycle()
    assert "rule broken" in caplog.text and "many-to-many" in caplog.text
    assert "broken" in evaluator.errors
    with db.read() as session:
        assert [a.rule for a in queries.current(session)] == ["high_error_rate"]


def test_a_node_that_lost_its_lease_while_evaluating_writes_nothing(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    rule = make_rule(condition="check_up < 1", channels=["x"])
    write(db, clock, 0.0)
    other = Evaluator(db, clock, [rule], node_id="b", enqueue=outbox)

    class Paused(Evaluator):
        def evaluate(self, rules: list) -> dict:  # type: ignore[type-arg]
            outcomes = super().evaluate(rules)
            clock.advance(self.lease_ttl + 1)  # paused past its lease; another node takes over
            assert other.cycle() is not None
            return outcomes

    paused = Paused(db, clock, [rule], node_id="a", enqueue=outbox)
    assert paused.cycle() is None
    with db.read() as session:
        [alert] = queries.current(session)
        assert [t.to_state for t in queries.transitions(session, alert.id)] == ["firing"]
    assert len(outbox.sent) == 1  # only node b's page
