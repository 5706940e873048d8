from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from opsbook.scheduler.cron import CronError, fires_between, next_fire, validate


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_next_fire_is_read_in_the_jobs_time_zone() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    assert next_fire("0 9 * * *", "Europe/Berlin", utc(2026, 1, 5, 12)) == utc(2026, 1, 6, 8)
    assert next_fire("0 9 * * *", "Europe/Berlin", utc(2026, 7, 5, 12)) == utc(2026, 7, 6, 7)


def test_next_fire_is_strictly_after_the_given_time() -> None:
    assert next_fire("0 * * * *", "UTC", utc(2026, 1, 5, 12)) == utc(2026, 1, 5, 13)


def test_a_daily_job_fires_once_on_the_fall_back_night() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25 (00:30 and 01:30 UTC).
    fires = fires_between(
        "30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)
    )
    assert fires == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_a_time_in_the_repeated_hour_does_not_fire_again_in_its_second_pass() -> None:
    after_first_pass = utc(2026, 10, 25, 1, 15)  # 02:15 CET, after 02:30 CEST already fired
    assert next_fire("30 2 * * *", "Europe/Berlin", after_first_pass) == utc(2026, 10, 26, 1, 30)


def test_a_daily_job_in_the_skipped_hour_fires_once_on_the_spring_forward_night() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29; the job runs at 03:00 CEST instead.
    fires = fires_between("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert fires == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]


def test_an_hourly_job_fires_every_real_hour_across_a_dst_change() -> None:
    fires = fires_between(
        "0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 22), utc(2026, 10, 25, 22)
    )
    assert len(fires) == len(set(fires)) == 24
    assert all((b - a).total_seconds() == 3600 for a, b in itertools.pairwise(fires))


@pytest.mark.parametrize("expr", ["* * * *", "61 * * * *", "0 0 31 2 *x", "every hour"])
def test_an_invalid_expression_is_refused(expr: str) -> None:
    with pytest.raises(CronError):
        validate(expr)
