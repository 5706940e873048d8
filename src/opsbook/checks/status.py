"""Reading check states back: current status per check (with staleness), changes, uptime.

A check whose last result is older than two intervals plus its timeout reads as `unknown`:
whoever shows it (the status page, `/health`) must not claim it healthy on old news.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.checks.model import Status
from opsbook.checks.rollup import rollup
from opsbook.checks.service import CLAIM_GRACE_SECONDS
from opsbook.checks.tables import CheckFlip, CheckGap, CheckState
from opsbook.metrics import query


@dataclass(frozen=True, slots=True)
class CheckView:
    name: str
    type: str
    status: Status
    stale: bool
    failing: bool
    pending: bool
    since: datetime | None
    last_run_at: datetime | None
    latency: float | None
    error: str | None
    recent: str
    next_due_at: datetime
    claimed_by: str | None


def is_stale(row: CheckState, now: datetime) -> bool:
    if row.last_run_at is None:
        return True
    limit = 2 * row.interval_seconds + row.timeout_seconds + CLAIM_GRACE_SECONDS
    return now - row.last_run_at > timedelta(seconds=limit)


def check_views(session: Session, now: datetime) -> list[CheckView]:
    """Every active check's state, by name."""
    rows = session.scalars(
        select(CheckState).where(CheckState.active.is_(True)).order_by(CheckState.name)
    )
    views = []
    for row in rows:
        stale = is_stale(row, now)
        views.append(
            CheckView(
                name=row.name,
                type=row.type,
                status=Status.UNKNOWN if stale else Status(row.status),
                stale=stale,
                failing=row.failing,
                pending=row.failures_in_row > 0 and not row.failing,
                since=row.status_since,
                last_run_at=row.last_run_at,
                latency=row.last_latency_seconds,
                error=row.last_error,
                recent=row.recent,
                next_due_at=row.next_due_at,
                claimed_by=row.claimed_by,
            )
        )
    return views


def overall(session: Session, now: datetime) -> Status:
    """The rollup of the stored states (unknown counts as degraded)."""
    return rollup(view.status for view in check_views(session, now))


def flips(
    session: Session, check: str | None = None, since: datetime | None = None, limit: int = 100
) -> list[CheckFlip]:
    """Status changes, newest first."""
    stmt = select(CheckFlip).order_by(CheckFlip.at.desc(), CheckFlip.id.desc()).limit(limit)
    if check is not None:
        stmt = stmt.where(CheckFlip.check == check)
    if since is not None:
        stmt = stmt.where(CheckFlip.at >= since)
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class Uptime:
    """Up share of the observed runs in a window, and how much of the window was observed."""

    up_ratio: float | None  # None: no runs observed at all
    runs: int
    observed_ratio: float
    gaps: list[tuple[datetime, datetime]]


def uptime(session: Session, check: str, start: datetime, end: datetime) -> Uptime:
    """Uptime of `check` over [start, end]: unobserved time (gaps) is left out, never counted
    as up."""
    window = (end - start).total_seconds()
    row = session.get(CheckState, check)
    interval = row.interval_seconds if row is not None else 60.0
    found = query.aggregate(session, "check_up", {"check": check}, "avg", window, end)
    avg = found[0] if found else None
    runs = avg.samples if avg is not None else 0
    gap_rows = session.scalars(
        select(CheckGap)
        .where(CheckGap.check == check, CheckGap.end > start, CheckGap.start < end)
        .order_by(CheckGap.start)
    ).all()
    return Uptime(
        up_ratio=avg.value if avg is not None and runs else None,
        runs=runs,
        observed_ratio=min(1.0, runs * interval / window) if window > 0 else 0.0,
        gaps=[(max(g.start, start), min(g.end, end)) for g in gap_rows],
    )
