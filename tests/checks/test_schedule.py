"""Schedules, claims and flap state live in the store: tests on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from opsbook.checks import service
from opsbook.checks.model import Status
from opsbook.checks.status import check_views, flips, uptime
from opsbook.checks.tables import CheckGap, CheckState
from opsbook.checks.worker import CheckWorker
from opsbook.clock import FakeClock
from opsbook.metrics import query
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade
from tests.checks.conftest import Target, make_config
from tests.services import scratch_postgres


def _runtime(
    tmp_path: Path, db: Database, clock: FakeClock, checks: list[dict[str, Any]], node: str = "a"
) -> Runtime:
    return Runtime(make_config(tmp_path, checks), db, clock, node_id=node)


def _http(name: str, target: Target, **settings: Any) -> dict[str, Any]:
    return {"name": name, "type": "http", "url": f"{target.url}/app", "interval": "10s", **settings}


def _cycle(worker: CheckWorker) -> int:
    """One scheduling round: claim what is due, run it, write the results."""

    async def go() -> int:
        claimed = await worker.tick()
        await worker.drain()
        await worker.ctx.aclose()  # its HTTP sessions belong to this event loop
        return claimed

    claimed = asyncio.run(go())
    assert worker.writer.flush()
    return claimed


def _worker(runtime: Runtime) -> CheckWorker:
    worker = CheckWorker(runtime, lookahead=0)
    worker.sync()
    return worker


def _state(db: Database, name: str) -> CheckState:
    with db.read() as s:
        row = s.get(CheckState, name)
        assert row is not None
        return row


def test_sync_spreads_new_checks_over_their_interval_and_retires_removed_ones(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    first = _runtime(tmp_path, db, clock, [_http(f"c{i}", target) for i in range(20)])
    _worker(first)
    with db.read() as s:
        dues = [r.next_due_at for r in s.scalars(select(CheckState))]
    assert all(clock.now() <= due < clock.now() + timedelta(seconds=10) for due in dues)
    assert len(set(dues)) > 10
    _worker(_runtime(tmp_path, db, clock, [_http("c0", target)]))
    with db.read() as s:
        active = s.scalars(select(CheckState.name).where(CheckState.active.is_(True))).all()
    assert active == ["c0"]


def test_a_due_check_is_claimed_by_one_node_only(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    _worker(_runtime(tmp_path, db, clock, [_http("api", target)]))
    clock.advance(10)
    with db.write() as s:
        first = service.claim_due(s, "node-a", clock.now())
    with db.write() as s:
        second = service.claim_due(s, "node-b", clock.now())
    assert [c.name for c in first] == ["api"]
    assert second == []
    row = _state(db, "api")
    assert row.claimed_by == "node-a"
    assert row.next_due_at > clock.now()


@pytest.mark.postgres
def test_claims_skip_rows_another_node_has_locked(
    tmp_path: Path, clock: FakeClock, target: Target
) -> None:
    with scratch_postgres() as url:
        db = Database(url)
        upgrade(db)
        try:
            _worker(_runtime(tmp_path, db, clock, [_http(f"c{i}", target) for i in range(6)]))
            clock.advance(10)
            with db.write() as a:
                mine = service.claim_due(a, "node-a", clock.now(), limit=3)
                with db.write() as b:  # node b claims while node a's transaction is open
                    theirs = service.claim_due(b, "node-b", clock.now())
        finally:
            db.dispose()
    assert len(mine) == 3 and len(theirs) == 3
    assert {c.name for c in mine}.isdisjoint(c.name for c in theirs)


def test_a_check_this_node_does_not_know_is_left_to_the_others(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    api, web = _http("api", target, interval="60s"), _http("web", target, interval="60s")
    _worker(_runtime(tmp_path, db, clock, [api, web]))
    other = CheckWorker(_runtime(tmp_path, db, clock, [api], node="b"))
    clock.advance(60)
    _cycle(other)  # claims both, runs api, gives web back for a while
    row = _state(db, "web")
    assert (row.claimed_by, row.last_run_at) == (None, None)
    assert row.next_due_at <= clock.now() < row.claimed_until  # type: ignore[operator]
    with db.write() as s:
        assert [c.name for c in service.claim_due(s, "b", clock.now())] == []
    clock.advance(6)
    with db.write() as s:
        assert [c.name for c in service.claim_due(s, "a", clock.now())] == ["web"]


def test_the_worker_runs_due_checks_and_stores_state_and_samples(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    worker = _worker(_runtime(tmp_path, db, clock, [_http("api", target)]))
    clock.advance(10)
    assert _cycle(worker) == 1
    row = _state(db, "api")
    assert (row.status, row.claimed_by, row.recent) == ("healthy", None, "o")
    with db.read() as s:
        assert query.latest(s, "check_up", {"check": "api"})[0].value == 1.0
        assert query.latest(s, "check_status", {"check": "api"})[0].value == 0.0
        assert query.latest(s, "http_response_status_code")[0].value == 200
        [view] = check_views(s, clock.now())
    assert view.status is Status.HEALTHY
    assert _cycle(worker) == 0  # not due again until its interval has passed


def test_flap_state_survives_a_restart(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    target.app.status = 500
    checks = [_http("api", target, retries=1)]
    first = _worker(_runtime(tmp_path, db, clock, checks))
    clock.advance(10)
    _cycle(first)
    assert _state(db, "api").status == "unknown"  # one failure: not yet confirmed
    second = _worker(_runtime(tmp_path, db, clock, checks, node="b"))  # a new process
    clock.advance(10)
    _cycle(second)
    assert _state(db, "api").status == "unhealthy"
    with db.read() as s:
        [flip] = flips(s, "api")
    assert (flip.from_status, flip.to_status, flip.error) == (
        "unknown",
        "unhealthy",
        "HTTP 500 (expected 200-399)",
    )


def test_a_retry_interval_reruns_a_failing_check_sooner(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    target.app.status = 500
    checks = [_http("api", target, interval="60s", retries=2, retry_interval="5s")]
    worker = _worker(_runtime(tmp_path, db, clock, checks))
    clock.advance(60)
    _cycle(worker)
    assert _state(db, "api").next_due_at <= clock.now() + timedelta(seconds=5)


def test_the_log_offset_is_remembered_in_the_store(
    tmp_path: Path, db: Database, clock: FakeClock
) -> None:
    log = tmp_path / "app.log"
    log.write_text("ERROR old\n")
    checks = [
        {
            "name": "log",
            "type": "log",
            "path": "app.log",
            "patterns": {"e": "ERROR"},
            "interval": "10s",
        }
    ]
    for step in range(3):
        worker = _worker(_runtime(tmp_path, db, clock, checks))  # restarted: offset from the store
        clock.advance(10)
        _cycle(worker)
        if step == 0:
            log.write_text("ERROR old\nERROR new\n")
    with db.read() as s:
        [matches] = query.latest(s, "log_matches_total")
    assert matches.value == 1.0


def test_a_result_from_an_expired_claim_does_not_change_the_state(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    runtime = _runtime(tmp_path, db, clock, [_http("api", target, interval="60s")])
    worker = _worker(runtime)
    clock.advance(60)
    with db.write() as s:
        [old] = service.claim_due(s, "a", clock.now())
    clock.advance(60)  # the claim expired unanswered; another node claims the next run
    with db.write() as s:
        [new] = service.claim_due(s, "b", clock.now())
    from opsbook.checks.runner import run_once

    [result] = asyncio.run(run_once(list(worker.specs.values()), worker.ctx))
    with db.write() as s:
        assert service.apply_results(s, [(old, result)], worker.specs) == []
    assert _state(db, "api").claimed_by == "b" and new.seq > old.seq


def test_a_stopped_opsbook_leaves_a_gap_not_a_burst_or_uptime(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    start = clock.now()
    worker = _worker(_runtime(tmp_path, db, clock, [_http("api", target)]))
    for _ in range(6):
        clock.advance(10)
        _cycle(worker)
    clock.advance(3600)  # opsbook was down for an hour
    assert _cycle(worker) == 0  # rescheduled within one interval, not run in a burst
    clock.advance(10)
    assert _cycle(worker) == 1
    with db.read() as s:
        [gap] = s.scalars(select(CheckGap)).all()
        seen = uptime(s, "api", start, clock.now())
    assert gap.end - gap.start > timedelta(minutes=59)
    assert seen.up_ratio == 1.0
    assert seen.runs == 7
    assert seen.observed_ratio < 0.1
    assert seen.gaps == [(gap.start, gap.end)]


def test_stopping_gives_unfinished_runs_back(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    target.app.hang = True
    worker = _worker(_runtime(tmp_path, db, clock, [_http("api", target, timeout="5s")]))
    clock.advance(10)
    due = _state(db, "api").next_due_at

    async def go() -> None:
        await worker.tick()
        await asyncio.sleep(0.05)
        await worker.stop_runs()
        await worker.ctx.aclose()

    asyncio.run(go())
    row = _state(db, "api")
    assert (row.claimed_by, row.next_due_at) == (None, due)


def test_a_hung_target_never_delays_other_checks(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock, target: Target
) -> None:
    target.app.hang = True
    quick = Target()
    thread = threading.Thread(target=quick.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    checks = [
        _http("hung", target, timeout="1500ms"),
        {"name": "quick", "type": "http", "url": f"{quick.url}/app", "interval": "10s"},
    ]
    worker = _worker(_runtime(tmp_path, sqlite_db, clock, checks))
    clock.advance(10)

    async def go() -> float:
        started = time.monotonic()
        await worker.tick()
        while worker.stats.runs < 1:
            assert time.monotonic() - started < 1.4, "the quick check waited for the hung one"
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        await worker.drain()
        await worker.ctx.aclose()
        return elapsed

    try:
        elapsed = asyncio.run(go())
    finally:
        quick.release.set()
        quick.shutdown()
        quick.server_close()
    worker.writer.flush()
    assert elapsed < 1.0
    assert _state(sqlite_db, "quick").status == "healthy"
    assert _state(sqlite_db, "hung").last_error == "timed out after 1.5s"


def test_a_locked_sqlite_store_never_turns_into_a_failed_check(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock, target: Target
) -> None:
    worker = _worker(_runtime(tmp_path, sqlite_db, clock, [_http("api", target)]))
    clock.advance(10)
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with sqlite_db.write() as s:
            s.execute(text("UPDATE check_state SET type = type"))
            held.set()
            release.wait(20)

    async def go() -> None:
        await worker.tick()
        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        assert held.wait(5)
        await worker.drain()  # probes run while another writer holds the store
        flush = asyncio.create_task(asyncio.to_thread(worker.writer.flush))
        await asyncio.sleep(0.3)
        assert not flush.done()  # the write waits its turn
        release.set()
        assert await flush
        holder.join()
        await worker.ctx.aclose()

    asyncio.run(go())
    assert worker.stats.failures == 0
    assert _state(sqlite_db, "api").status == "healthy"
    assert worker.writer.stats.failed_flushes == 0


def test_a_state_without_recent_results_reads_as_unknown(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    worker = _worker(_runtime(tmp_path, db, clock, [_http("api", target)]))
    clock.advance(10)
    _cycle(worker)
    with db.read() as s:
        assert [v.status for v in check_views(s, clock.now())] == [Status.HEALTHY]
    clock.advance(120)  # nothing ran since: opsbook is not watching
    with db.read() as s:
        [view] = check_views(s, clock.now())
    assert (view.status, view.stale) == (Status.UNKNOWN, True)
