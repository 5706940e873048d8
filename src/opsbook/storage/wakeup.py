"""Wake-ups between processes: "something changed, look now" instead of waiting a full interval.

A service announces a change inside its write transaction with `announce(session, topic)`; the
announcement is delivered when the transaction commits and dropped when it rolls back. On
PostgreSQL it is `pg_notify`, relayed to every node by its listener (`LISTEN opsbook`, see
`Wakeup.listen`); in this process it also wakes the local waiters directly, so a single node (and
SQLite) needs no listener at all.

Workers wait where they would otherwise sleep:

    seen = wakeup.mark("incidents")
    do_the_work()                                  # reads the store
    await wakeup.idle(stop, seen, timeout=2.0)     # returns at once if announced meanwhile

Each topic has a generation counter, so an announcement that arrives while the worker is busy
is not lost. A lost wake-up (a listener reconnecting) only costs the timeout: correctness never
depends on delivery. Topics in use: `incidents`, `notify`, `alerts`, `jobs`, `runs`, `cluster`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from opsbook.storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "opsbook"
_PENDING = "opsbook_wakeup_topics"
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)
LISTEN_SLICE_SECONDS = 0.5

_registry: weakref.WeakSet[Wakeup] = weakref.WeakSet()
_registry_lock = threading.Lock()

Mark = Mapping[str, int]
"""Generations of some topics as seen at one moment (`Wakeup.mark`)."""


def announce(session: Session, topic: str) -> None:
    """Announce `topic` to every node when `session`'s transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :topic)"), {"channel": CHANNEL, "topic": topic}
        )
    topics: set[str] = session.info.setdefault(_PENDING, set())
    if not topics:
        event.listen(session, "after_commit", _after_commit, once=True)
        event.listen(session, "after_rollback", _after_rollback, once=True)
    topics.add(topic)


def _after_commit(session: Session) -> None:
    topics = session.info.pop(_PENDING, set())
    with _registry_lock:
        wakeups = list(_registry)
    for wakeup in wakeups:
        for topic in topics:
            wakeup.wake(topic)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Wakeup:
    """This process's wake-ups: waiters per topic, fed by local commits and the listener."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._generation: Counter[str] = Counter()
        self._waiters: set[tuple[frozenset[str], asyncio.Future[None]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = False  # the listener is connected (always True on SQLite once run)
        with _registry_lock:
            _registry.add(self)

    # -- announcing -----------------------------------------------------------------------------

    def notify(self, session: Session, topic: str) -> None:
        """Announce `topic` when `session`'s transaction commits (see `announce`)."""
        announce(session, topic)

    def wake(self, topic: str) -> None:
        """Wake every waiter on `topic` in this process (thread-safe)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._release(topic)
        else:
            loop.call_soon_threadsafe(self._release, topic)

    def _release(self, topic: str) -> None:
        self._generation[topic] += 1
        for topics, waiter in list(self._waiters):
            if topic in topics and not waiter.done():
                waiter.set_result(None)

    def _release_all(self) -> None:
        for topic in {t for topics, _ in self._waiters for t in topics} | set(self._generation):
            self._release(topic)

    # -- waiting --------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """How many waiters are idle now (for progress lines and tests)."""
        return len(self._waiters)

    def mark(self, *topics: str) -> Mark:
        """The topics' generations now; `idle(..., since=mark)` returns at once once one moved."""
        self._loop = asyncio.get_running_loop()
        return {topic: self._generation[topic] for topic in topics}

    async def wait(self, topic: str, timeout: float) -> bool:
        """Wait until `topic` is announced or `timeout` seconds pass; True when woken."""
        return await self.idle(None, self.mark(topic), timeout)

    async def idle(self, stop: asyncio.Event | None, since: Mark, timeout: float) -> bool:
        """Wait until a topic in `since` moved on from its mark, `stop` is set, or `timeout`
        seconds pass. True when woken by a topic."""
        self._loop = asyncio.get_running_loop()
        if any(self._generation[t] != seen for t, seen in since.items()):
            return True
        waiter: asyncio.Future[None] = self._loop.create_future()
        entry = (frozenset(since), waiter)
        self._waiters.add(entry)
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        try:
            pending: set[asyncio.Future[object]] = {waiter}  # type: ignore[arg-type]
            if stopper is not None:
                pending.add(stopper)  # type: ignore[arg-type]
            done, _ = await asyncio.wait(
                pending, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED
            )
            return waiter in done
        finally:
            self._waiters.discard(entry)
            if not waiter.done():
                waiter.cancel()
            if stopper is not None:
                stopper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stopper

    # -- listening (PostgreSQL) -------------------------------------------------------------------

    async def listen(self, stop: asyncio.Event) -> None:
        """Relay `pg_notify` from every node to this process's waiters until `stop` is set.

        Reconnects by itself when PostgreSQL restarts; on SQLite there is nothing to listen to.
        """
        self._loop = asyncio.get_running_loop()
        if not self.db.is_postgres:
            self.listening = True
            await stop.wait()
            return
        failures = 0
        while not stop.is_set():
            try:
                await self._listen_once(stop)
                failures = 0
            except (OSError, _psycopg_errors()) as exc:
                self.listening = False
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning(
                    "wake-up listener lost its connection (%s); reconnecting in %.1fs",
                    _first_line(exc),
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _listen_once(self, stop: asyncio.Event) -> None:
        import psycopg

        conninfo = (
            make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        async with await psycopg.AsyncConnection.connect(
            conninfo, autocommit=True, connect_timeout=5
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            # Something may have changed while we were not listening: wake everyone once.
            self._release_all()
            self.listening = True
            while not stop.is_set():
                # Each pass listens for a short while, then looks at `stop` again; a query now
                # and then notices a connection that died without a word (a restarted server).
                async for notify in conn.notifies(timeout=LISTEN_SLICE_SECONDS):
                    self._release(notify.payload)
                await conn.execute("SELECT 1")


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _psycopg_errors() -> type[Exception]:
    import psycopg

    return psycopg.Error
