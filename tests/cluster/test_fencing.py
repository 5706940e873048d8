"""A node paused past its lease finds out before it acts: leadership fenced by the lease row,
paused transactions ended by the store, and node ids that cannot be shared."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opsbook.clock import FakeClock
from opsbook.cluster import service
from opsbook.cluster.leadership import Leadership
from opsbook.cluster.node import fence_sessions, node_started
from opsbook.config import config_from_data
from opsbook.errors import ConflictError
from opsbook.runtime import Runtime
from opsbook.storage import Database


def test_a_leader_paused_past_its_lease_fails_holds_once_another_took_over(
    db: Database, clock: FakeClock
) -> None:
    a, b = Leadership("a", 10), Leadership("b", 10)
    with db.write() as s:
        assert a.acquire(s, clock.now()) is not None
    clock.advance(11)  # a was paused (SIGSTOP) past its lease
    with db.write() as s:
        lease = b.acquire(s, clock.now())
    assert lease is not None and a.lease is not None and lease.token == a.lease.token + 1
    with db.write() as s:
        assert not a.holds(s, clock)
        assert b.holds(s, clock)


@pytest.mark.postgres
def test_the_lease_cannot_move_while_a_transaction_that_checked_it_is_open(
    pg_db: Database, clock: FakeClock
) -> None:
    a, b = Leadership("a", 10), Leadership("b", 10)
    with pg_db.write() as s:
        a.acquire(s, clock.now())
    clock.advance(5)
    checked = threading.Event()
    commit = threading.Event()

    def leader_work() -> None:
        with pg_db.write() as s:
            assert a.holds(s, clock)
            checked.set()
            commit.wait(10)  # the leader is paused between its check and its commit

    worker = threading.Thread(target=leader_work)
    worker.start()
    assert checked.wait(10)
    clock.advance(6)  # a's lease has expired by the clock; its transaction is still open
    with pg_db.write() as s:
        assert b.acquire(s, clock.now()) is None  # waits a second for the row, then gives up
    commit.set()
    worker.join()
    with pg_db.write() as s:
        assert b.acquire(s, clock.now()) is not None  # the check committed: now it may move


@pytest.mark.postgres
def test_the_store_ends_a_transaction_left_idle_past_the_lease(pg_db: Database) -> None:
    fence_sessions(pg_db, 0.5)
    with pytest.raises(DBAPIError, match="idle-in-transaction timeout"), pg_db.write() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _wait_until_gone(pg_db, pid)
        s.execute(text("SELECT 1"))


def _wait_until_gone(db: Database, pid: int) -> None:
    other = Database(db.url)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with other.read() as s:
                alive = s.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar_one()
            if not alive:
                return
            time.sleep(0.05)
        raise AssertionError(f"session {pid} was not ended")
    finally:
        other.dispose()


@pytest.mark.postgres
def test_a_node_id_in_use_by_another_live_process_is_refused(
    pg_db: Database, tmp_path: Path
) -> None:
    config = config_from_data({}, base_dir=tmp_path)
    with pg_db.write() as s:
        row = service.register(s, "web-1", FakeClock().now(), 10)
        row.host = "another-machine"
    runtime = Runtime(config, pg_db, FakeClock(), node_id="web-1")
    with (
        pytest.raises(ConflictError, match="node id 'web-1' is in use by a live node"),
        node_started(runtime),
    ):
        pass
    with node_started(Runtime(config, pg_db, FakeClock(), node_id="web-2")):
        pass


def test_a_second_node_on_one_sqlite_store_refuses_to_start(
    sqlite_db: Database, tmp_path: Path
) -> None:
    config = config_from_data({}, base_dir=tmp_path)
    with (
        node_started(Runtime(config, sqlite_db, node_id="first")),
        pytest.raises(ConflictError, match=r"another opsbook node \(node first"),
        node_started(Runtime(config, sqlite_db, node_id="second")),
    ):
        pass
