from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsbook.alerts.windows import Window, open_windows
from opsbook.config.alerts import MaintenanceWindowConfig


def window(**settings: object) -> Window:
    return Window.from_config(MaintenanceWindowConfig.model_validate({"name": "w", **settings}))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_weekly_window_opens_on_sundays_between_two_and_four_utc() -> None:
    sunday = window(days="sunday", time="02:00-04:00")
    assert sunday.open_until(at("2026-01-04T01:59:59+00:00")) is None
    assert sunday.open_until(at("2026-01-04T02:00:00+00:00")) == at("2026-01-04T04:00:00+00:00")
    assert sunday.open_until(at("2026-01-04T04:00:00+00:00")) is None
    assert sunday.open_until(at("2026-01-05T03:00:00+00:00")) is None  # a Monday


def test_a_weekly_window_follows_its_time_zone_across_daylight_saving() -> None:
    berlin = window(days=["sun"], time="02:00-04:00", timezone="Europe/Berlin")
    assert berlin.open_until(at("2026-01-04T01:30:00+00:00")) is not None  # 02:30 CET
    assert berlin.open_until(at("2026-07-05T00:30:00+00:00")) is not None  # 02:30 CEST
    assert berlin.open_until(at("2026-07-05T02:30:00+00:00")) is None  # 04:30 CEST


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    late = window(days=["saturday"], time="22:00-02:00")
    assert late.open_until(at("2026-01-04T01:00:00+00:00")) == at("2026-01-04T02:00:00+00:00")
    assert late.open_until(at("2026-01-05T01:00:00+00:00")) is None


def test_a_one_off_window_covers_its_start_but_not_its_end() -> None:
    once = window(start="2026-03-01T22:00:00Z", end="2026-03-02T01:00:00Z")
    assert once.open_until(at("2026-03-01T22:00:00+00:00")) is not None
    assert once.open_until(at("2026-03-02T01:00:00+00:00")) is None


def test_a_cron_window_lasts_its_duration() -> None:
    monthly = window(cron="0 3 1 * *", duration="2h", timezone="UTC")
    assert monthly.open_until(at("2026-02-01T04:59:00+00:00")) == at("2026-02-01T05:00:00+00:00")
    assert monthly.open_until(at("2026-02-02T04:00:00+00:00")) is None


def test_matchers_limit_a_window_to_some_alerts() -> None:
    scoped = window(days="daily", time="00:00-23:59", matchers=['severity="warning"'])
    now = at("2026-01-06T12:00:00+00:00")
    assert open_windows([scoped], {"severity": "warning"}, now) == [scoped]
    assert open_windows([scoped], {"severity": "critical"}, now) == []


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"days": ["funday"], "time": "02:00-04:00"}, "unknown day"),
        ({"days": ["sun"], "time": "2am"}, "02:00-04:00"),
        ({"start": "2026-03-01T22:00:00Z"}, "later `end`"),
        ({"cron": "61 * * * *", "duration": "1h"}, "invalid cron"),
        ({"days": ["sun"], "time": "02:00-04:00", "timezone": "Mars/Base"}, "unknown time zone"),
        ({"days": ["sun"], "time": "02:00-04:00", "matchers": ["sev=="]}, "bad matcher"),
    ],
)
def test_a_badly_written_window_is_refused(settings: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        window(**settings)
