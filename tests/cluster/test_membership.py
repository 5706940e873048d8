from __future__ import annotations

import pytest

from opsbook.clock import FakeClock
from opsbook.cluster import service
from opsbook.cluster.worker import Leadership, NodeWorker
from opsbook.errors import ConflictError
from opsbook.storage import Database
from opsbook.storage.nodelock import NodeLock


def test_a_node_is_dead_once_its_heartbeat_is_older_than_its_lease(
    db: Database, clock: FakeClock
) -> None:
    with db.write() as s:
        service.register(s, "a", clock.now(), 10)
        service.register(s, "b", clock.now(), 10)
    clock.advance(8)
    with db.write() as s:
        service.heartbeat(s, "a", clock.now())
    clock.advance(3)
    with db.read() as s:
        assert [n.id for n in service.live_nodes(s, clock.now())] == ["a"]
        assert [(n.id, n.alive) for n in service.status(s, clock.now(), include_dead=True)] == [
            ("a", True),
            ("b", False),
        ]


def nodes(db: Database, clock: FakeClock, *names: str) -> list[NodeWorker]:
    return [NodeWorker(db, clock, n, Leadership(n, 10), lease=10, heartbeat=2) for n in names]


def test_exactly_one_node_leads(db: Database, clock: FakeClock) -> None:
    workers = nodes(db, clock, "a", "b", "c")
    for w in workers:
        w.beat()
    assert [w.leadership.is_leader for w in workers] == [True, False, False]
    with db.read() as s:
        assert [n.id for n in service.status(s, clock.now()) if n.leader] == ["a"]


def test_leadership_moves_when_the_leader_stops_beating(db: Database, clock: FakeClock) -> None:
    a, b = nodes(db, clock, "a", "b")
    a.beat()
    b.beat()
    clock.advance(11)  # a is paused past its lease
    b.beat()
    assert b.leadership.is_leader
    with db.read() as s:
        assert not a.leadership.holds(s, clock)
        assert b.leadership.holds(s, clock)
    a.beat()  # a comes back and learns it no longer leads
    assert not a.leadership.is_leader


def test_a_leader_that_leaves_hands_over_at_once(db: Database, clock: FakeClock) -> None:
    a, b = nodes(db, clock, "a", "b")
    a.beat()
    a.leave()
    b.beat()
    assert b.leadership.is_leader


def test_a_second_node_on_one_sqlite_store_refuses(sqlite_db: Database) -> None:
    with (
        NodeLock(sqlite_db, "first"),
        pytest.raises(ConflictError, match=r"another opsbook node \(node first, pid \d+\)"),
    ):
        NodeLock(sqlite_db, "second").acquire()
    with NodeLock(sqlite_db, "third"):
        pass  # free again once the first let go
