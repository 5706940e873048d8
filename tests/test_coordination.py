from __future__ import annotations

from opsbook.clock import FakeClock
from opsbook.storage import Database
from opsbook.storage.coordination import acquire, current_holder, holds, release


def test_the_first_holder_gets_the_lease_and_others_wait(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        lease = acquire(s, "rules", "node-a", 15, clock.now())
    with db.write() as s:
        assert acquire(s, "rules", "node-b", 15, clock.now()) is None
    assert lease is not None
    assert lease.token == 1


def test_renewing_keeps_the_token(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        first = acquire(s, "rules", "node-a", 15, clock.now())
    clock.advance(10)
    with db.write() as s:
        again = acquire(s, "rules", "node-a", 15, clock.now())
    assert first is not None and again is not None
    assert again.token == first.token
    assert again.expires_at > first.expires_at


def test_an_expired_lease_moves_with_a_larger_token(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        old = acquire(s, "rules", "node-a", 15, clock.now())
    clock.advance(16)
    with db.write() as s:
        new = acquire(s, "rules", "node-b", 15, clock.now())
    assert old is not None and new is not None
    assert new.token > old.token
    with db.read() as s:
        assert not holds(s, old, clock.now())
        assert holds(s, new, clock.now())


def test_a_paused_holder_finds_out_before_acting(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        lease = acquire(s, "rules", "node-a", 15, clock.now())
    assert lease is not None
    clock.advance(30)  # paused past its lease, nobody else took it yet
    with db.read() as s:
        assert not holds(s, lease, clock.now())


def test_release_lets_another_take_over_at_once(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        lease = acquire(s, "rules", "node-a", 15, clock.now())
        assert lease is not None
        release(s, lease, clock.now())
    with db.write() as s:
        taken = acquire(s, "rules", "node-b", 15, clock.now())
    with db.read() as s:
        holder = current_holder(s, "rules", clock.now())
    assert taken is not None and holder is not None
    assert holder.holder == "node-b"
