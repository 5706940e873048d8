from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opsbook.clock import FakeClock
from opsbook.config.metrics import MetricsConfig
from opsbook.metrics import query
from opsbook.metrics.model import Sample
from opsbook.metrics.store import write_samples
from opsbook.metrics.tables import MetricRollup, MetricSample
from opsbook.metrics.worker import upkeep
from opsbook.storage import Database

DAY = 86400


def _minute_of_latencies(db: Database, clock: FakeClock, values: list[float]) -> None:
    """`values` spread over one minute (10 s apart), starting on a minute boundary."""
    with db.write() as s:
        for value in values:
            write_samples(s, [Sample("lat_seconds", {"check": "api"}, value, clock.now())])
            clock.advance(60 / len(values))


def test_each_complete_minute_is_rolled_up_once(db: Database, clock: FakeClock) -> None:
    _minute_of_latencies(db, clock, [1, 2, 3, 4, 5, 6])
    _minute_of_latencies(db, clock, [10, 10, 10, 10, 10, 40])
    clock.advance(600)
    settings = MetricsConfig()
    first = upkeep(db, clock, settings)
    again = upkeep(db, clock, settings)
    with db.read() as s:
        rows = s.scalars(select(MetricRollup).order_by(MetricRollup.minute_ms)).all()
    assert first.rollups == 2 and again.rollups == 0
    assert [(r.count, r.min, r.max, r.sum / r.count, r.last) for r in rows] == [
        (6, 1.0, 6.0, 3.5, 6.0),
        (6, 10.0, 40.0, 15.0, 40.0),
    ]
    assert rows[1].p95 == pytest.approx(32.5)


def test_minutes_still_receiving_samples_wait(db: Database, clock: FakeClock) -> None:
    _minute_of_latencies(db, clock, [1, 2])
    report = upkeep(db, clock, MetricsConfig())  # the minute just ended: writes may be pending
    assert report.rollups == 0


def test_raw_samples_past_retention_go_and_rollups_answer_for_them(
    db: Database, clock: FakeClock
) -> None:
    start = clock.now()
    _minute_of_latencies(db, clock, [1, 2, 3, 4, 5, 6])
    clock.advance(2 * DAY)
    _minute_of_latencies(db, clock, [100, 100])
    clock.advance(600)
    report = upkeep(db, clock, MetricsConfig(raw_retention=DAY))
    assert report.raw_deleted == 6
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(MetricSample)) == 2
        [avg] = query.aggregate(s, "lat_seconds", None, "avg", 3 * DAY, clock.now())
        [count] = query.aggregate(s, "lat_seconds", None, "count", 3 * DAY, clock.now())
        [old] = query.series(s, "lat_seconds", None, start, start + timedelta(hours=1))
    assert count.value == 8
    assert avg.value == pytest.approx((21 + 200) / 8)
    assert [p.value for p in old.points] == [3.5]  # one point for the rolled-up minute


def test_unrolled_samples_are_never_deleted(db: Database, clock: FakeClock) -> None:
    _minute_of_latencies(db, clock, [1, 2])
    clock.advance(2 * DAY)
    report = upkeep(db, clock, MetricsConfig(raw_retention=DAY), lateness=3 * DAY)
    assert report.rollups == 0
    assert report.raw_deleted == 0


def test_rollups_past_their_retention_are_deleted(db: Database, clock: FakeClock) -> None:
    _minute_of_latencies(db, clock, [1, 2])
    clock.advance(600)
    upkeep(db, clock, MetricsConfig(raw_retention=DAY, rollup_retention=2 * DAY))
    clock.advance(3 * DAY)
    report = upkeep(db, clock, MetricsConfig(raw_retention=DAY, rollup_retention=2 * DAY))
    assert report.rollups_deleted == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(MetricRollup)) == 0


def test_one_node_at_a_time_does_the_upkeep(db: Database, clock: FakeClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from opsbook.config import config_from_data
    from opsbook.metrics.worker import MetricsUpkeep
    from opsbook.runtime import Runtime

    config = config_from_data({}, base_dir=tmp_path)
    first = MetricsUpkeep(Runtime(config, db, clock, node_id="a"))
    second = MetricsUpkeep(Runtime(config, db, clock, node_id="b"))
    assert first._holds_lease()
    assert not second._holds_lease()
    clock.advance(first.every * 3 + 1)  # the first node stopped renewing
    assert second._holds_lease()


def test_the_metrics_worker_flushes_the_shared_writer(sqlite_db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from opsbook.clock import SystemClock
    from opsbook.config import config_from_data
    from opsbook.metrics.worker import MetricsUpkeep, shared_writer
    from opsbook.runtime import Runtime

    runtime = Runtime(config_from_data({}, base_dir=tmp_path), sqlite_db, SystemClock())
    writer = shared_writer(runtime)
    assert shared_writer(runtime) is writer
    writer.add(Sample("queue_depth", {"queue": "mail"}, 3, runtime.clock.now()))

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(MetricsUpkeep(runtime).run(stop))
        await asyncio.sleep(0)
        stop.set()
        await task

    asyncio.run(scenario())
    with sqlite_db.read() as s:
        assert [v.value for v in query.latest(s, "queue_depth")] == [3.0]
