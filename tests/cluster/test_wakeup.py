from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsbook.clock import SystemClock
from opsbook.config import config_from_data
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.storage.wakeup import Wakeup, announce
from tests.services import scratch_postgres


def test_a_committed_notify_wakes_a_waiter_on_sqlite(sqlite_db: Database) -> None:
    wakeup = Wakeup(sqlite_db)

    async def scenario() -> bool:
        waiting = asyncio.ensure_future(wakeup.wait("alerts", timeout=5))
        await asyncio.sleep(0)
        with sqlite_db.write() as session:
            wakeup.notify(session, "alerts")
        return await waiting

    assert asyncio.run(scenario()) is True


def test_a_rolled_back_notify_wakes_nobody(sqlite_db: Database) -> None:
    wakeup = Wakeup(sqlite_db)

    async def scenario() -> bool:
        waiting = asyncio.ensure_future(wakeup.wait("alerts", timeout=0.2))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError), sqlite_db.write() as session:
            wakeup.notify(session, "alerts")
            raise RuntimeError("rolled back")
        return await waiting

    assert asyncio.run(scenario()) is False


@pytest.mark.postgres
def test_a_notify_on_one_node_wakes_another_within_a_second() -> None:
    with scratch_postgres() as url:
        first, second = Database(url), Database(url)
        sender, listener = Wakeup(first), Wakeup(second)

        async def scenario() -> float:
            stop = asyncio.Event()
            task = asyncio.create_task(listener.listen(stop))
            loop = asyncio.get_running_loop()
            # The listener wakes every waiter once it is connected; wait for that first.
            await listener.wait("ready", timeout=10)
            waiting = asyncio.ensure_future(listener.wait("silences", timeout=5))
            await asyncio.sleep(0)
            start = loop.time()
            with first.write() as session:
                sender.notify(session, "silences")
            woken = await waiting
            elapsed = loop.time() - start
            stop.set()
            await task
            assert woken
            return elapsed

        try:
            assert asyncio.run(scenario()) < 1.0
        finally:
            first.dispose()
            second.dispose()


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _seconds_until(condition: Callable[[], bool], seconds: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.postgres
def test_an_incident_opened_through_one_node_is_paged_by_another_within_a_second(
    pg_db: Database, tmp_path: Path
) -> None:
    from opsbook.incidents import service as incidents
    from opsbook.incidents.tables import IncidentEventRow
    from opsbook.incidents.worker import IncidentWorker
    from tests.incidents.conftest import make_policy

    other = Database(pg_db.url)
    clock = SystemClock()
    runtime = Runtime(config_from_data({}, base_dir=tmp_path), other, clock, node_id="b")
    ctx = incidents.IncidentContext(clock=clock, policy=make_policy())
    worker = IncidentWorker(runtime, ctx, poll=60)  # only a wake-up makes it look again

    def paged() -> bool:
        with pg_db.read() as s:
            rows = s.scalars(select(IncidentEventRow).where(IncidentEventRow.kind == "escalated"))
            return rows.first() is not None

    async def scenario() -> float:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runtime.wakeup.listen(stop))]
        await _until(lambda: runtime.wakeup.listening)
        tasks.append(asyncio.create_task(worker.run(stop)))
        await _until(lambda: runtime.wakeup.waiting > 0)  # its first pass is done: it idles

        def open_through_node_a() -> float:
            with pg_db.write() as s:
                incidents.open_incident(s, ctx, title="api down", severity="P1", actor="alice")
            return _seconds_until(paged)

        elapsed = await asyncio.to_thread(open_through_node_a)
        stop.set()
        await asyncio.gather(*tasks)
        return elapsed

    try:
        assert asyncio.run(scenario()) < 1.0
    finally:
        other.dispose()


@pytest.mark.postgres
def test_a_silence_made_through_one_node_starts_a_cycle_on_the_leader_within_a_second(
    pg_db: Database, tmp_path: Path
) -> None:
    from opsbook.alerts import silences
    from opsbook.alerts.worker import AlertsWorker, Evaluator
    from tests.alerts.conftest import make_rule

    other = Database(pg_db.url)
    clock = SystemClock()
    runtime = Runtime(config_from_data({}, base_dir=tmp_path), other, clock, node_id="b")
    cycles: list[float] = []

    class Counting(Evaluator):
        def cycle(self, only: set[str] | None = None) -> Any:
            cycles.append(time.monotonic())
            return super().cycle(only)

    rule = make_rule(condition="check_up < 1", channels=[])
    evaluator = Counting(other, clock, [rule], node_id="b", interval=3600)
    worker = AlertsWorker(evaluator, runtime.wakeup)

    async def scenario() -> float:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runtime.wakeup.listen(stop))]
        await _until(lambda: runtime.wakeup.listening)
        tasks.append(asyncio.create_task(worker.run(stop)))
        await _until(lambda: len(cycles) == 1 and runtime.wakeup.waiting > 0)

        def silence_through_node_a() -> float:
            with pg_db.write() as s:
                silences.create(
                    s, clock, matchers=["alertname=x"], duration=60, author="bob", comment="work"
                )
            return _seconds_until(lambda: len(cycles) > 1)

        elapsed = await asyncio.to_thread(silence_through_node_a)
        stop.set()
        await asyncio.gather(*tasks)
        return elapsed

    try:
        assert asyncio.run(scenario()) < 1.0
    finally:
        other.dispose()


def test_a_wake_up_announced_while_the_worker_was_busy_is_not_lost(sqlite_db: Database) -> None:
    wakeup = Wakeup(sqlite_db)

    async def scenario() -> bool:
        seen = wakeup.mark("jobs")
        with sqlite_db.write() as session:  # announced while the worker was still at work
            announce(session, "jobs")
        await asyncio.sleep(0)
        return await wakeup.idle(None, seen, timeout=0.01)

    assert asyncio.run(scenario()) is True
