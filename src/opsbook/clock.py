"""The only place that reads the wall clock.

Services take a `Clock` so tests can move time by hand. Times are timezone-aware UTC datetimes;
`monotonic()` is in seconds and only meaningful as a difference.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; use for durations only."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio  # not at import: commands that never wait start faster

        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to. `sleep` yields control without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Move time forward by `seconds` plus any `timedelta` keywords; returns the new now."""
        step = timedelta(seconds=seconds, **delta)
        if step < timedelta(0):
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += step
            self._mono += step.total_seconds()
            return self._now

    def set(self, when: datetime) -> None:
        self.advance((when - self.now()).total_seconds())

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        import asyncio

        await asyncio.sleep(0)


def utc(when: datetime) -> datetime:
    """`when` as an aware UTC datetime; naive values are taken to be UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
