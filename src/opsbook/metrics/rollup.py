"""Upkeep of the metrics store: one-minute rollups and retention.

Both are idempotent and work on a slice of series at a time, so the worker can run them in short
transactions (SQLite's one writer is never held for long) and a crash only means redoing a slice.
Raw samples are deleted only once they are rolled up and older than raw retention; the query side
reads `raw_kept_from` to know where rollups take over.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opsbook.metrics.functions import RawPoint, summarize
from opsbook.metrics.query import ROLLED_UP_TO
from opsbook.metrics.store import dialect_insert
from opsbook.metrics.tables import MetricRollup, MetricSample, MetricSeries, MetricWatermark

MINUTE_MS = 60_000
SLICE = 500  # series per transaction


def series_slices(session: Session, size: int = SLICE) -> list[list[int]]:
    ids = list(session.scalars(select(MetricSeries.id).order_by(MetricSeries.id)))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def get_watermark(session: Session, name: str) -> int | None:
    return session.scalar(select(MetricWatermark.value_ms).where(MetricWatermark.name == name))


def set_watermark(session: Session, name: str, value_ms: int) -> None:
    insert = dialect_insert(session, MetricWatermark.__table__)  # type: ignore[arg-type]
    session.execute(
        insert.values(name=name, value_ms=value_ms).on_conflict_do_update(
            index_elements=["name"], set_={"value_ms": value_ms}
        )
    )


def rollup_span(
    session: Session, now_ms: int, lateness_ms: int, max_minutes: int = 60
) -> tuple[int, int] | None:
    """The minutes [start, end) the next rollup pass should cover, or None when up to date.

    Minutes are complete once `lateness_ms` has passed after them (batched writes land late).
    """
    end = (now_ms - lateness_ms) // MINUTE_MS * MINUTE_MS
    start = get_watermark(session, ROLLED_UP_TO)
    if start is None:
        oldest = session.scalar(select(MetricSample.at_ms).order_by(MetricSample.at_ms).limit(1))
        if oldest is None:
            return None
        start = oldest // MINUTE_MS * MINUTE_MS
    end = min(end, start + max_minutes * MINUTE_MS)
    return (start, end) if end > start else None


def roll_up(session: Session, series_ids: Sequence[int], start_ms: int, end_ms: int) -> int:
    """Write the rollups of `series_ids` for the minutes in [start_ms, end_ms); returns rows."""
    rows = session.execute(
        select(MetricSample.series_id, MetricSample.at_ms, MetricSample.value)
        .where(
            MetricSample.series_id.in_(series_ids),
            MetricSample.at_ms >= start_ms,
            MetricSample.at_ms < end_ms,
        )
        .order_by(MetricSample.series_id, MetricSample.at_ms)
    )
    values = []
    for series_id, group in groupby(rows, key=lambda row: row[0]):
        points: list[RawPoint] = [(int(at), float(value)) for _, at, value in group]
        for minute in summarize(points):
            values.append(
                {
                    "series_id": series_id,
                    "minute_ms": minute.minute_ms,
                    "count": minute.count,
                    "sum": minute.sum,
                    "min": minute.min,
                    "max": minute.max,
                    "p95": minute.p95,
                    "last": minute.last,
                }
            )
    if values:
        insert = dialect_insert(session, MetricRollup.__table__)  # type: ignore[arg-type]
        columns = ("count", "sum", "min", "max", "p95", "last")
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["series_id", "minute_ms"],
                set_={c: getattr(insert.excluded, c) for c in columns},
            ),
            values,
        )
    return len(values)


def next_sample_at(session: Session, series_ids: Sequence[int], after_ms: int) -> int | None:
    """The time of the first sample of `series_ids` at or after `after_ms`, if any."""
    return session.scalar(
        select(func.min(MetricSample.at_ms)).where(
            MetricSample.series_id.in_(series_ids), MetricSample.at_ms >= after_ms
        )
    )


def raw_cutoff(session: Session, now_ms: int, raw_retention_ms: int) -> int | None:
    """Raw samples before this time may go: past retention and already rolled up."""
    rolled = get_watermark(session, ROLLED_UP_TO)
    if rolled is None:
        return None
    return min(now_ms - raw_retention_ms, rolled)


def prune_raw(session: Session, series_ids: Sequence[int], cutoff_ms: int) -> int:
    result = session.execute(
        delete(MetricSample).where(
            MetricSample.series_id.in_(series_ids), MetricSample.at_ms < cutoff_ms
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def prune_rollups(session: Session, series_ids: Sequence[int], cutoff_ms: int) -> int:
    result = session.execute(
        delete(MetricRollup).where(
            MetricRollup.series_id.in_(series_ids), MetricRollup.minute_ms < cutoff_ms
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
