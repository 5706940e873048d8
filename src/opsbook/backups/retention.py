"""Which backups retention keeps: a pure function of the catalogue and the policy.

Like restic's `forget`: `keep_last` keeps the newest N; `keep_daily`, `keep_weekly` and
`keep_monthly` keep the newest backup of each of the last N days, ISO weeks and months that
have a backup, in the policy's time zone. The newest verified backup is always kept, whatever
the policy says. Only good backups are candidates; failed ones never count towards a policy,
so they never push a good backup out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from opsbook.config.backups import RetentionConfig
from opsbook.scheduler.cron import zone


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    at: datetime  # when the backup finished, aware
    verified: bool | None


Bucket = Callable[[datetime], str]


def plan(candidates: Sequence[Candidate], policy: RetentionConfig) -> dict[int, list[str]]:
    """For each candidate id, the reasons it is kept; an empty list means delete it."""
    tz = zone(policy.timezone)
    newest_first = sorted(candidates, key=lambda c: (c.at, c.id), reverse=True)
    reasons: dict[int, list[str]] = {c.id: [] for c in newest_first}
    for candidate in newest_first[: policy.keep_last]:
        reasons[candidate.id].append(f"one of the last {policy.keep_last}")
    buckets: list[tuple[str, int, Bucket]] = [
        ("daily", policy.keep_daily, lambda at: at.astimezone(tz).strftime("%Y-%m-%d")),
        ("weekly", policy.keep_weekly, _iso_week(tz)),
        ("monthly", policy.keep_monthly, lambda at: at.astimezone(tz).strftime("%Y-%m")),
    ]
    for label, count, bucket in buckets:
        seen: set[str] = set()
        for candidate in newest_first:
            if len(seen) >= count:
                break
            key = bucket(candidate.at)
            if key not in seen:
                seen.add(key)
                reasons[candidate.id].append(f"{label} {key}")
    verified = next((c for c in newest_first if c.verified), None)
    if verified is not None:
        reasons[verified.id].append("newest verified backup")
    return reasons


def _iso_week(tz: object) -> Bucket:
    def bucket(at: datetime) -> str:
        year, week, _ = at.astimezone(tz).isocalendar()  # type: ignore[arg-type]
        return f"{year}-W{week:02d}"

    return bucket
