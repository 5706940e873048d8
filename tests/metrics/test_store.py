from __future__ import annotations

import asyncio
import math
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from opsbook.clock import FakeClock
from opsbook.metrics import query
from opsbook.metrics.model import Sample, parse_matchers
from opsbook.metrics.store import MetricWriter, write_samples
from opsbook.metrics.tables import MetricSample, MetricSeries
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade


def _up(clock: FakeClock, check: str, value: float, **labels: str) -> Sample:
    return Sample("check_up", {"check": check, **labels}, value, clock.now())


def test_written_samples_come_back_as_the_latest_value(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        write_samples(s, [_up(clock, "api", 1), _up(clock, "db", 1)])
    clock.advance(10)
    with db.write() as s:
        write_samples(s, [_up(clock, "api", 0)])
    with db.read() as s:
        values = query.latest(s, "check_up", {"check": "api"})
    assert [(v.value, v.at) for v in values] == [(0.0, clock.now())]


def test_latest_leaves_out_series_older_than_max_age(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        write_samples(s, [_up(clock, "old", 1)])
    clock.advance(600)
    with db.write() as s:
        write_samples(s, [_up(clock, "new", 1)])
    with db.read() as s:
        values = query.latest(s, "check_up", None, now=clock.now(), max_age=60)
    assert [v.labels["check"] for v in values] == ["new"]


def test_matchers_select_series_by_equality_and_regex(db: Database, clock: FakeClock) -> None:
    codes = ["200", "404", "500", "503"]
    with db.write() as s:
        write_samples(
            s, [Sample("http_responses_total", {"code": c}, 1, clock.now()) for c in codes]
        )
    with db.read() as s:
        five = query.latest(s, "http_responses_total", 'code=~"5.."')
        not_ok = query.latest(s, "http_responses_total", '{code!="200"}')
        exact = query.latest(s, "http_responses_total", {"code": "404"})
        not_five = query.latest(s, "http_responses_total", parse_matchers('code!~"5.*"'))
    assert sorted(v.labels["code"] for v in five) == ["500", "503"]
    assert sorted(v.labels["code"] for v in not_ok) == ["404", "500", "503"]
    assert [v.labels["code"] for v in exact] == ["404"]
    assert sorted(v.labels["code"] for v in not_five) == ["200", "404"]


def test_a_missing_label_matches_the_empty_string(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        write_samples(s, [Sample("m", {}, 1, clock.now()), Sample("m", {"a": "x"}, 2, clock.now())])
    with db.read() as s:
        assert [v.value for v in query.latest(s, "m", 'a=""')] == [1.0]


def test_invalid_matchers_are_rejected_with_the_text() -> None:
    with pytest.raises(ValueError, match="near"):
        parse_matchers('check="a" oops')
    with pytest.raises(ValueError, match="regular expression"):
        parse_matchers('check=~"("')


def test_a_sample_written_twice_is_stored_once(db: Database, clock: FakeClock) -> None:
    sample = _up(clock, "api", 1)
    with db.write() as s:
        write_samples(s, [sample, sample])
    with db.write() as s:
        write_samples(s, [Sample("check_up", {"check": "api"}, 0, sample.at)])
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(MetricSample)) == 1
        assert s.scalar(select(func.count()).select_from(MetricSeries)) == 1
        assert query.latest(s, "check_up")[0].value == 0.0


def test_non_finite_values_are_not_stored(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        written = write_samples(s, [Sample("m", {}, math.nan, clock.now())])
    assert written == 0


def test_invalid_names_and_naive_times_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        Sample("bad-name", {}, 1, clock.now())
    with pytest.raises(ValueError, match="label name"):
        Sample("m", {"bad-label": "x"}, 1, clock.now())
    with pytest.raises(ValueError, match="naive"):
        Sample("m", {}, 1, clock.now().replace(tzinfo=None))


def test_series_returns_the_points_inside_the_window(db: Database, clock: FakeClock) -> None:
    start = clock.now()
    with db.write() as s:
        for value in range(6):
            write_samples(s, [Sample("lat_seconds", {"check": "api"}, value, clock.now())])
            clock.advance(10)
    with db.read() as s:
        [found] = query.series(
            s, "lat_seconds", None, start + timedelta(seconds=10), start + timedelta(seconds=30)
        )
    assert [p.value for p in found.points] == [1.0, 2.0, 3.0]
    assert found.labels == {"check": "api"}


def _fill(db: Database, clock: FakeClock, name: str, values: list[float], step: float = 10) -> None:
    with db.write() as s:
        for value in values:
            write_samples(s, [Sample(name, {"check": "api"}, value, clock.now())])
            clock.advance(step)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        ("avg", 5.5),
        ("min", 1.0),
        ("max", 10.0),
        ("sum", 55.0),
        ("count", 10.0),
        ("last", 10.0),
        ("p50", 5.5),
        ("p95", 9.55),
    ],
)
def test_aggregates_over_a_window(db: Database, clock: FakeClock, fn: str, expected: float) -> None:
    _fill(db, clock, "lat_seconds", [float(v) for v in range(1, 11)])
    with db.read() as s:
        [value] = query.aggregate(s, "lat_seconds", None, fn, 120, clock.now())
    assert value.value == pytest.approx(expected)
    assert value.samples == 10


def test_rate_counts_a_counter_reset_from_zero(db: Database, clock: FakeClock) -> None:
    _fill(db, clock, "log_lines_total", [100, 110, 120, 5, 15])  # restarted after 120
    with db.read() as s:
        [increase] = query.aggregate(s, "log_lines_total", None, "increase", 60, clock.now())
        [rate] = query.aggregate(s, "log_lines_total", None, "rate", 60, clock.now())
    assert increase.value == 35.0
    assert rate.value == pytest.approx(35.0 / 40.0)


def test_a_window_without_samples_has_no_value(db: Database, clock: FakeClock) -> None:
    _fill(db, clock, "lat_seconds", [1.0])
    clock.advance(3600)
    with db.read() as s:
        [avg] = query.aggregate(s, "lat_seconds", None, "avg", 300, clock.now())
        [count] = query.aggregate(s, "lat_seconds", None, "count", 300, clock.now())
    assert avg.value is None
    assert count.value == 0.0


def test_an_unknown_aggregation_is_refused(db: Database, clock: FakeClock) -> None:
    with db.read() as s, pytest.raises(ValueError, match="unknown aggregation"):
        query.aggregate(s, "m", None, "median", 60, clock.now())


def test_the_writer_batches_samples_and_flushes_when_stopped(
    db: Database, clock: FakeClock
) -> None:
    writer = MetricWriter(db, flush_interval=30)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        writer.extend(_up(clock, f"c{i}", 1) for i in range(250))
        await asyncio.sleep(0)
        stop.set()
        await task

    asyncio.run(scenario())
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(MetricSample)) == 250
    assert writer.stats.written == 250
    assert writer.pending == 0


def test_the_writer_keeps_samples_until_the_store_can_take_them(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = Database(f"sqlite:///{tmp_path}/late.db")  # no tables yet: every write fails
    writer = MetricWriter(db)
    writer.extend([_up(clock, "api", 1), _up(clock, "db", 1)])
    assert writer.flush() is False
    assert writer.pending == 2
    assert writer.retry_delay() > writer.flush_interval
    upgrade(db)
    assert writer.flush() is True
    with db.read() as s:
        assert len(query.latest(s, "check_up")) == 2
    db.dispose()


def test_the_writer_drops_the_oldest_samples_beyond_its_limit(
    sqlite_db: Database, clock: FakeClock
) -> None:
    writer = MetricWriter(sqlite_db, max_pending=3)
    for value in range(5):
        writer.add(Sample("m", {}, value, clock.now()))
        clock.advance(1)
    assert writer.pending == 3
    assert writer.stats.dropped == 2
    writer.flush()
    with sqlite_db.read() as s:
        [series] = query.series(s, "m", None, clock.now() - timedelta(hours=1), clock.now())
    assert [p.value for p in series.points] == [2.0, 3.0, 4.0]


def test_a_busy_sqlite_store_delays_the_writer_instead_of_failing(
    sqlite_db: Database, clock: FakeClock
) -> None:
    writer = MetricWriter(sqlite_db)
    writer.add(_up(clock, "api", 1))
    held = threading.Event()
    release = threading.Event()

    def hold_the_write_lock() -> None:
        with sqlite_db.write() as s:
            s.execute(text("SELECT 1"))
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert held.wait(5)
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(writer.flush()))
    flusher.start()
    flusher.join(0.3)
    assert flusher.is_alive()  # waiting for the lock, not failing
    release.set()
    flusher.join(10)
    holder.join(10)
    assert flushed == [True]
    assert writer.stats.failed_flushes == 0


def test_any_sample_shaped_object_can_be_written(sqlite_db: Database, clock: FakeClock) -> None:
    from dataclasses import dataclass

    @dataclass
    class JobSample:  # another area's own sample type
        name: str
        labels: dict[str, str]
        value: float
        at: object

    writer = MetricWriter(sqlite_db)
    writer.write([JobSample("job_last_run_failed", {"job": "backup"}, 1, clock.now())])
    writer.flush()
    with sqlite_db.read() as s:
        [value] = query.latest(s, "job_last_run_failed", {"job": "backup"})
    assert value.value == 1.0
