"""Leadership: one node of the cluster holds the `leader` lease and does the single-role work
(scheduling, rule evaluation, the cluster's own upkeep).

Any of the node's workers may take or renew the lease (`acquire`); the node loop renews it every
heartbeat. Acting on it is always fenced: call `holds(session, clock)` inside the transaction that
acts. `holds` locks the lease row FOR SHARE (on PostgreSQL), so a node cannot take the lease over
while a transaction of the old leader that passed the check is still open; a node paused inside
such a transaction is cut off by the store (`idle_in_transaction_session_timeout`, set by
`cluster.node`) and its writes are rolled back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.storage import Database, coordination
from opsbook.storage.coordination import Lease

log = logging.getLogger(__name__)

LEADER_LEASE = "leader"
ACQUIRE_LOCK_TIMEOUT_MS = 1000


@dataclass
class Leadership:
    """Whether this node leads, as last seen. Act only after `holds()` in your transaction."""

    node_id: str = ""
    ttl: float = 10.0
    lease: Lease | None = None

    @property
    def is_leader(self) -> bool:
        return self.lease is not None

    def current(self, now: datetime) -> Lease | None:
        """The lease as last seen, if it has not expired by `now` (no store round trip)."""
        lease = self.lease
        return lease if lease is not None and lease.expires_at > now else None

    def acquire(self, session: Session, now: datetime) -> Lease | None:
        """Take or renew the leader lease for this node; None when another node leads.

        Waits at most a second for the lease row (an open transaction of the leader holds it);
        then it keeps what it knew and tries again next time. Commit before acting on it.
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL lock_timeout = {ACQUIRE_LOCK_TIMEOUT_MS}"))
        try:
            with session.begin_nested():
                lease = coordination.acquire(session, LEADER_LEASE, self.node_id, self.ttl, now)
        except OperationalError as exc:
            if "lock" not in str(exc).lower():
                raise
            log.debug("leader lease row busy; keeping what this node knew")
            return self.current(now)
        if (lease is None) != (self.lease is None):
            log.info("node %s %s leadership", self.node_id, "took" if lease else "lost")
        self.lease = lease
        return lease

    def lead(self, db: Database, clock: Clock) -> bool:
        """Take or renew the lease in a transaction of its own; True when this node leads. For
        work that is merely wasted when done twice (publishing figures read from the store)."""
        with db.write() as session:
            return self.acquire(session, clock.now()) is not None

    def holds(self, session: Session, clock: Clock) -> bool:
        """True when this node still holds the leader lease, checked in `session`'s transaction."""
        lease = self.lease
        return lease is not None and coordination.holds(session, lease, clock.now())

    def release(self, session: Session, now: datetime) -> None:
        if self.lease is not None:
            coordination.release(session, self.lease, now)
        self.lease = None
