"""Cron as a pure function: the fire times of an expression in a time zone, in UTC.

Expressions are evaluated by cronsim in the job's own zone and converted to UTC right away, so
a DST change neither fires a job twice nor skips it: a time that does not exist (02:30 on the
spring-forward night) fires at the first moment after it, a time that exists twice (02:30 on
the fall-back night) fires once, at its first occurrence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

# cronsim may hand back a time at or before the start when it starts inside a repeated hour;
# such ticks are skipped, and a few in a row is the most a DST change can produce.
_MAX_STALE_TICKS = 8


class CronError(ValueError):
    """An expression or time zone that cannot be scheduled."""


def zone(name: str) -> ZoneInfo:
    """The time zone `name` (an IANA name such as `Europe/Berlin`, or `UTC`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from None


def validate(expr: str) -> str:
    """`expr` unchanged when it is a valid five-field cron expression; raises CronError."""
    if len(expr.split()) != 5:
        raise CronError(
            f"cron expression {expr!r} needs five fields: minute hour day-of-month month weekday"
        )
    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise CronError(f"invalid cron expression {expr!r}: {exc}") from None
    return expr


def fires_after(expr: str, tz: str, after: datetime) -> Iterator[datetime]:
    """Every fire time strictly after `after`, ascending, as aware UTC datetimes."""
    if after.tzinfo is None:
        raise ValueError("fires_after needs an aware datetime")
    after = after.astimezone(UTC)
    stale = 0
    for local in CronSim(expr, after.astimezone(zone(tz))):
        when = local.astimezone(UTC)
        if when <= after:
            stale += 1
            if stale > _MAX_STALE_TICKS:
                raise CronError(f"cron expression {expr!r} does not move forward in {tz}")
            continue
        stale = 0
        after = when
        yield when


def next_fire(expr: str, tz: str, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC."""
    return next(fires_after(expr, tz, after))


def fires_between(
    expr: str, tz: str, start: datetime, end: datetime, limit: int = 1000
) -> list[datetime]:
    """Fire times in (start, end], oldest first, at most `limit` of them (the newest kept)."""
    found: deque[datetime] = deque(maxlen=limit)
    for when in fires_after(expr, tz, start):
        if when > end:
            break
        found.append(when)
    return list(found)
