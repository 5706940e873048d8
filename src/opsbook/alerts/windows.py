"""Maintenance windows: when they are open, as a pure function of the config and the time.

One-off windows run from `start` to `end` (naive dates are read in the window's time zone).
Weekly windows open on the given days at the given local wall-clock hours in their time zone, so
"Sundays 02:00-04:00 Europe/Berlin" follows daylight saving time; a window whose end is earlier
than its start runs past midnight into the next day. Cron windows open at each cron time (in the
time zone) and last `duration`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from opsbook.alerts.language.ast import Matcher
from opsbook.alerts.matchers import matches_all, parse_matchers
from opsbook.config.alerts import WEEKDAYS, MaintenanceWindowConfig


@dataclass(frozen=True)
class Window:
    name: str
    config: MaintenanceWindowConfig
    matchers: tuple[Matcher, ...]

    @classmethod
    def from_config(cls, config: MaintenanceWindowConfig) -> Window:
        return cls(config.name, config, parse_matchers(config.matchers))

    def applies_to(self, labels: dict[str, str]) -> bool:
        return matches_all(self.matchers, labels)

    def open_until(self, now: datetime) -> datetime | None:
        """The end of the occurrence open at `now`, or None when the window is closed."""
        config = self.config
        zone = ZoneInfo(config.timezone)
        if config.start is not None and config.end is not None:
            start, end = _aware(config.start, zone), _aware(config.end, zone)
            return end if start <= now < end else None
        if config.cron is not None and config.duration:
            return _cron_open_until(config.cron, config.duration, zone, now)
        assert config.time is not None
        return _weekly_open_until(config.days, config.time, zone, now)


def _aware(when: datetime, zone: ZoneInfo) -> datetime:
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def _parse_hours(text: str) -> tuple[time, time]:
    first, second = (part.strip() for part in text.replace("–", "-").split("-"))
    return time.fromisoformat(first.zfill(5)), time.fromisoformat(second.zfill(5))


def _weekly_open_until(
    days: list[str], hours: str, zone: ZoneInfo, now: datetime
) -> datetime | None:
    opens, closes = _parse_hours(hours)
    local = now.astimezone(zone)
    # The occurrence that started today, or (for windows past midnight) yesterday.
    for back in (0, 1):
        day = local.date() - timedelta(days=back)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        start = datetime.combine(day, opens, tzinfo=zone)
        end_day = day if closes > opens else day + timedelta(days=1)
        end = datetime.combine(end_day, closes, tzinfo=zone)
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        if start_utc <= now < end_utc:
            return end_utc
    return None


def _cron_open_until(
    expression: str, duration: float, zone: ZoneInfo, now: datetime
) -> datetime | None:
    length = timedelta(seconds=duration)
    # Start from the earliest moment a still-open occurrence could have begun; cronsim walks
    # aware local times, so occurrences follow the zone's daylight saving time.
    begin = (now - length - timedelta(minutes=1)).astimezone(zone)
    for start_local in CronSim(expression, begin):
        start = start_local.astimezone(UTC)
        if start > now:
            return None
        if now < start + length:
            return start + length
    return None


def open_windows(windows: list[Window], labels: dict[str, str], now: datetime) -> list[Window]:
    """The windows that hold back notifications for an alert with `labels` at `now`."""
    return [w for w in windows if w.applies_to(labels) and w.open_until(now) is not None]


def next_occurrence(
    window: Window, now: datetime, within: timedelta
) -> tuple[datetime, datetime] | None:
    """The occurrence open at `now`, else the next one that starts within `within`, as
    (start, end) in UTC; None when there is neither."""
    config = window.config
    zone = ZoneInfo(config.timezone)
    if config.start is not None and config.end is not None:
        start, end = _aware(config.start, zone), _aware(config.end, zone)
        found = (start.astimezone(UTC), end.astimezone(UTC)) if end > now else None
    elif config.cron is not None and config.duration:
        found = _next_cron(config.cron, config.duration, zone, now, within)
    else:
        assert config.time is not None
        found = _next_weekly(config.days, config.time, zone, now, within)
    if found is None or found[0] > now + within:
        return None
    return found


def _next_weekly(
    days: list[str], hours: str, zone: ZoneInfo, now: datetime, within: timedelta
) -> tuple[datetime, datetime] | None:
    opens, closes = _parse_hours(hours)
    today = now.astimezone(zone).date()
    # From yesterday (a window past midnight may still be open) to the end of `within`.
    for offset in range(-1, within.days + 2):
        day = today + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        end_day = day if closes > opens else day + timedelta(days=1)
        start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(end_day, closes, tzinfo=zone).astimezone(UTC)
        if end > now:
            return start, end
    return None


def _next_cron(
    expression: str, duration: float, zone: ZoneInfo, now: datetime, within: timedelta
) -> tuple[datetime, datetime] | None:
    length = timedelta(seconds=duration)
    begin = (now - length - timedelta(minutes=1)).astimezone(zone)
    for start_local in CronSim(expression, begin):
        start = start_local.astimezone(UTC)
        if start > now + within:
            return None
        if start + length > now:
            return start, start + length
    return None
