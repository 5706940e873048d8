from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.backups.retention import Candidate, plan
from opsbook.config.backups import RetentionConfig


def history(days: int, per_day: int = 4) -> list[Candidate]:
    """A backup every 6 hours for `days` days up to 2026-03-31 18:00 UTC, ids oldest first."""
    newest = datetime(2026, 3, 31, 18, tzinfo=UTC)
    count = days * per_day
    return [
        Candidate(i + 1, newest - timedelta(hours=6 * (count - 1 - i)), verified=True)
        for i in range(count)
    ]


def kept(candidates: list[Candidate], **policy: int) -> list[datetime]:
    reasons = plan(candidates, RetentionConfig(**policy))  # type: ignore[arg-type]
    by_id = {c.id: c.at for c in candidates}
    return sorted(by_id[i] for i, why in reasons.items() if why)


def test_retention_keeps_what_the_policy_says_on_a_generated_history() -> None:
    candidates = history(days=120)
    result = kept(candidates, keep_last=3, keep_daily=7, keep_weekly=4, keep_monthly=3)
    day = lambda d, h=18: datetime(2026, 3, d, h, tzinfo=UTC)  # noqa: E731
    expected = {
        day(31, 6),
        day(31, 12),  # keep_last 3 (the third is 31 18:00)
        *(day(d) for d in range(25, 32)),  # daily: the newest of each of the last 7 days
        day(22),
        day(15),  # weekly: this week (31), then the Sundays 29, 22 and 15
        datetime(2026, 2, 28, 18, tzinfo=UTC),
        datetime(2026, 1, 31, 18, tzinfo=UTC),  # monthly
    }
    assert set(result) == expected
    assert len(result) == len(expected) == 13


def test_a_zero_policy_keeps_only_the_newest_verified_backup() -> None:
    candidates = history(days=3)
    result = kept(candidates, keep_last=0, keep_daily=0, keep_weekly=0, keep_monthly=0)
    assert result == [candidates[-1].at]


def test_the_newest_verified_backup_is_kept_even_when_the_policy_would_drop_it() -> None:
    candidates = [
        Candidate(c.id, c.at, verified=(c.id == 2)) for c in history(days=2)
    ]  # only the second-oldest was verified
    reasons = plan(
        candidates, RetentionConfig(keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0)
    )
    assert reasons[2] == ["newest verified backup"]
    assert [i for i, why in reasons.items() if why] == [8, 2]


def test_calendar_buckets_follow_the_policy_time_zone() -> None:
    # 23:30 UTC on Jan 5 is already Jan 6 in Berlin: one Berlin day holds both backups.
    candidates = [
        Candidate(1, datetime(2026, 1, 5, 23, 30, tzinfo=UTC), True),
        Candidate(2, datetime(2026, 1, 6, 8, tzinfo=UTC), True),
    ]
    policy = RetentionConfig(keep_last=0, keep_daily=2, keep_weekly=0, keep_monthly=0)
    assert [i for i, why in plan(candidates, policy).items() if why] == [2, 1]
    berlin = RetentionConfig(
        keep_last=0, keep_daily=2, keep_weekly=0, keep_monthly=0, timezone="Europe/Berlin"
    )
    reasons = plan([Candidate(c.id, c.at, False) for c in candidates], berlin)
    assert [i for i, why in reasons.items() if why] == [2]
