"""A value recomputed in the background at most every `max_age` seconds.

Readers on the event loop get the last value at once, even while a newer one is being computed
(stale while revalidating), so a slow store or a busy interpreter never stalls a request under
load; only the first read, or one after a long quiet spell, waits for a fresh value.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
TOO_OLD = 5  # a value this many max_ages old is refreshed before it is returned


class Snapshot(Generic[T]):
    def __init__(self, compute: Callable[[], T], max_age: float) -> None:
        self._compute = compute
        self.max_age = max_age
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = float("-inf")
        self._refreshing = False

    def _stale(self) -> bool:
        return time.monotonic() - self._at >= self.max_age

    def _refresh(self) -> T:
        with self._lock:
            if self._value is None or self._stale():
                self._value = self._compute()
                self._at = time.monotonic()
            self._refreshing = False
            return self._value

    async def get(self) -> T:
        """The current value; a stale one starts a refresh in a thread and is returned as is."""
        value = self._value
        if value is None or time.monotonic() - self._at >= TOO_OLD * self.max_age:
            return await asyncio.to_thread(self._refresh)  # first read, or nobody asked lately
        if self._stale() and not self._refreshing:
            self._refreshing = True
            asyncio.get_running_loop().run_in_executor(None, self._refresh)
        return value

    def get_sync(self) -> T:
        """The current value for code in a thread: refreshed first when stale."""
        value = self._value
        if value is None or self._stale():
            return self._refresh()
        return value
