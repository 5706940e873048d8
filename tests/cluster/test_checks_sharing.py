"""Checks shared out among the nodes: a dead node's claims are free at once, host-bound checks
run on their own machines, and a node that was paused skips what it claimed before."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from opsbook.checks import service
from opsbook.checks.tables import CheckState
from opsbook.checks.worker import CheckWorker
from opsbook.clock import FakeClock
from opsbook.cluster import service as cluster
from opsbook.metrics import query
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.checks.conftest import Target, make_config


def _runtime(
    tmp_path: Path, db: Database, clock: FakeClock, checks: list[dict[str, Any]], node: str
) -> Runtime:
    return Runtime(make_config(tmp_path, checks), db, clock, node_id=node)


def _due_now(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        s.execute(update(CheckState).values(next_due_at=clock.now()))


def _http(name: str, target: Target) -> dict[str, Any]:
    return {
        "name": name,
        "type": "http",
        "url": f"{target.url}/app",
        "interval": "10s",
        "timeout": "2s",
    }


@pytest.mark.postgres
def test_a_dead_nodes_claims_are_free_at_once(
    tmp_path: Path, pg_db: Database, clock: FakeClock, target: Target
) -> None:
    CheckWorker(_runtime(tmp_path, pg_db, clock, [_http("api", target)], "a")).sync()
    with pg_db.write() as s:
        cluster.register(s, "a", clock.now(), 10)
        cluster.register(s, "b", clock.now(), 10)
    _due_now(pg_db, clock)
    with pg_db.write() as s:
        assert [c.name for c in service.claim_due(s, "a", clock.now())] == ["api"]
    clock.advance(10)  # the next run is due; a's claim (due + timeout + 30 s) still stands
    with pg_db.write() as s:
        cluster.heartbeat(s, "a", clock.now())
        cluster.heartbeat(s, "b", clock.now())
        dead = cluster.dead_node_ids(s, clock.now())
        assert (dead, service.claim_due(s, "b", clock.now(), dead=dead)) == ([], [])
    clock.advance(10.5)  # a died (kill -9): no heartbeat for longer than its lease
    _due_now(pg_db, clock)
    with pg_db.write() as s:
        cluster.heartbeat(s, "b", clock.now())
        dead = cluster.dead_node_ids(s, clock.now())
        claims = service.claim_due(s, "b", clock.now(), dead=dead)
    assert dead == ["a"] and [c.name for c in claims] == ["api"]


def _cycle(worker: CheckWorker) -> int:
    async def go() -> int:
        claimed = await worker.tick()
        await worker.drain()
        await worker.ctx.aclose()
        return claimed

    claimed = asyncio.run(go())
    assert worker.writer.flush()
    return claimed


@pytest.mark.postgres
def test_a_disk_check_runs_once_on_every_machine_under_its_host(
    tmp_path: Path, pg_db: Database, clock: FakeClock
) -> None:
    disk = {"name": "disk", "type": "disk", "mounts": ["/"], "warn_used": 1, "max_used": 1}
    one = CheckWorker(_runtime(tmp_path, pg_db, clock, [disk], "a"), lookahead=0, host="m1")
    two = CheckWorker(_runtime(tmp_path, pg_db, clock, [disk], "b"), lookahead=0, host="m2")
    one.sync()
    two.sync()
    one.sync()  # neither retires the other machine's row
    with pg_db.read() as s:
        rows = {r.name: (r.host, r.active) for r in s.scalars(select(CheckState))}
    assert rows == {"disk@m1": ("m1", True), "disk@m2": ("m2", True)}
    _due_now(pg_db, clock)
    assert (_cycle(two), _cycle(one)) == (1, 1)
    with pg_db.read() as s:
        hosts = sorted(
            sample.labels["host"] for sample in query.latest(s, "check_up", {"check": "disk"})
        )
        last = {r.name: r.last_node for r in s.scalars(select(CheckState))}
        assert cluster.checks_per_node(s) == {"a": 1, "b": 1}
    assert hosts == ["m1", "m2"]
    assert last == {"disk@m1": "a", "disk@m2": "b"}


@pytest.mark.postgres
def test_a_check_pinned_to_a_machine_runs_only_there(
    tmp_path: Path, pg_db: Database, clock: FakeClock, target: Target
) -> None:
    pinned = {**_http("api", target), "run_on": "m2"}
    one = CheckWorker(_runtime(tmp_path, pg_db, clock, [pinned], "a"), lookahead=0, host="m1")
    two = CheckWorker(_runtime(tmp_path, pg_db, clock, [pinned], "b"), lookahead=0, host="m2")
    one.sync()
    _due_now(pg_db, clock)
    assert _cycle(one) == 0
    assert _cycle(two) == 1
    assert target.app.requests == 1


def test_on_sqlite_a_host_bound_check_keeps_its_name(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock
) -> None:
    disk = {"name": "disk", "type": "disk", "mounts": ["/"]}
    CheckWorker(_runtime(tmp_path, sqlite_db, clock, [disk], "a"), host="m1").sync()
    with sqlite_db.read() as s:
        assert [(r.name, r.host) for r in s.scalars(select(CheckState))] == [("disk", None)]


def test_a_run_claimed_before_the_node_was_paused_is_skipped(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    worker = CheckWorker(_runtime(tmp_path, db, clock, [_http("api", target)], "a"), lookahead=0)
    worker.sync()
    _due_now(db, clock)
    [claim] = worker._claim()
    paused_since = time.monotonic() - worker.paused_after - 1  # SIGSTOP right after the claim

    async def go() -> None:
        await worker._run(claim, paused_since)
        await worker.ctx.aclose()

    asyncio.run(go())
    assert (target.app.requests, worker.stats.skipped_paused, worker.stats.runs) == (0, 1, 0)


def test_a_node_restarted_under_its_id_frees_the_claims_of_its_previous_process(
    tmp_path: Path, db: Database, clock: FakeClock, target: Target
) -> None:
    from opsbook.cluster.node import node_started

    runtime = _runtime(tmp_path, db, clock, [_http("api", target)], "web-1")
    CheckWorker(runtime).sync()
    _due_now(db, clock)
    with db.write() as s:
        assert [c.name for c in service.claim_due(s, "web-1", clock.now())] == ["api"]
    # kill -9, then the supervisor starts it again with the same --node-id
    again = _runtime(tmp_path, db, clock, [_http("api", target)], "web-1")
    with node_started(again), db.read() as s:
        row = s.get(CheckState, "api")
        assert row is not None and (row.claimed_by, row.claimed_until) == (None, None)
