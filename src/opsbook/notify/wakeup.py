"""Waking this process's delivery workers as soon as a transaction that queued messages commits.

Without it a worker finds new messages at its next poll (every second); with it a message
queued by the alerts worker in the same process leaves within milliseconds of the commit.
The commit also announces `notify` to the other nodes (`storage.wakeup`), whose delivery
workers wait on it.
"""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

from opsbook.storage.wakeup import announce

TOPIC = "notify"

_FLAG = "opsbook.notify.wake_after_commit"
_lock = threading.Lock()
_waiters: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}


def subscribe() -> asyncio.Event:
    """An event (of the running loop) that is set whenever messages were queued and committed."""
    wake = asyncio.Event()
    with _lock:
        _waiters[wake] = asyncio.get_running_loop()
    return wake


def unsubscribe(wake: asyncio.Event) -> None:
    with _lock:
        _waiters.pop(wake, None)


def wake_workers() -> None:
    """Set every subscribed event, from any thread."""
    with _lock:
        waiters = list(_waiters.items())
    for wake, loop in waiters:
        if not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)


def after_commit(session: Session) -> None:
    """Wake the workers when `session`'s transaction commits (once, however many messages)."""
    if session.info.get(_FLAG):
        return
    session.info[_FLAG] = True
    announce(session, TOPIC)
    event.listen(session, "after_commit", _committed, once=True)
    event.listen(session, "after_rollback", _rolled_back, once=True)


def _rolled_back(session: Session) -> None:
    session.info.pop(_FLAG, None)


def _committed(session: Session) -> None:
    session.info.pop(_FLAG, None)
    wake_workers()
