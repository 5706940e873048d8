"""The node loop: heartbeat, take or keep the leader lease, and the leader's cluster upkeep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy.exc import DBAPIError

from opsbook.clock import Clock
from opsbook.cluster import service
from opsbook.cluster.leadership import LEADER_LEASE, Leadership
from opsbook.storage import Database

__all__ = ["LEADER_LEASE", "Leadership", "NodeWorker"]

log = logging.getLogger(__name__)


class NodeWorker:
    name = "cluster"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        node_id: str,
        leadership: Leadership,
        *,
        lease: float,
        heartbeat: float,
    ) -> None:
        self.db, self.clock, self.node_id = db, clock, node_id
        self.leadership, self.lease, self.heartbeat = leadership, lease, heartbeat
        self.last_beat: float | None = None  # time.monotonic() of the last heartbeat stored
        self._store_trouble = False

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await asyncio.to_thread(self._beat_or_warn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.heartbeat)
        finally:
            with contextlib.suppress(DBAPIError):
                await asyncio.to_thread(self.leave)

    def _beat_or_warn(self) -> None:
        try:
            self.beat()
        except DBAPIError as exc:
            if not self._store_trouble:
                log.warning("node %s cannot reach the store: %s", self.node_id, _first_line(exc))
            self._store_trouble = True
            return
        if self._store_trouble:
            log.info("node %s reaches the store again", self.node_id)
        self._store_trouble = False

    def beat(self) -> None:
        """One heartbeat, then take or renew the leader lease (separate transactions, so a busy
        lease row never holds the heartbeat up)."""
        started = time.monotonic()
        now = self.clock.now()
        with self.db.write() as session:
            if not service.heartbeat(session, self.node_id, now):
                service.register(session, self.node_id, now, self.lease)
        self.last_beat = started
        with self.db.write() as session:
            self.leadership.acquire(session, self.clock.now())

    def leave(self) -> None:
        """Say this node stopped and hand leadership over at once."""
        with self.db.write() as session:
            service.stop(session, self.node_id, self.clock.now())
            self.leadership.release(session, self.clock.now())


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
