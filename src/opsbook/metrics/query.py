"""The read side of the metrics store: latest values, series and aggregates over a window.

Every function takes a `Session` and reads only. Raw samples answer for the part of a window
that is still within raw retention and not yet rolled up; older parts come from the one-minute
rollups. Time with no samples is simply absent: "no data" is never filled in or counted as up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.metrics.functions import (
    MinuteStats,
    RawPoint,
    check_function,
    on_minutes,
    on_raw,
    summarize,
)
from opsbook.metrics.model import Matchers, as_matchers, check_name, from_ms, matches_all, to_ms
from opsbook.metrics.tables import MetricRollup, MetricSample, MetricSeries, MetricWatermark

__all__ = [
    "Point",
    "Series",
    "SeriesRef",
    "Value",
    "aggregate",
    "find_series",
    "latest",
    "metric_names",
    "series",
]

ROLLED_UP_TO = "rolled_up_to"
RAW_KEPT_FROM = "raw_kept_from"


@dataclass(frozen=True, slots=True)
class SeriesRef:
    id: int
    name: str
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    """The points of one series in time order (raw samples, or minute averages when older)."""

    name: str
    labels: dict[str, str]
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Value:
    """One number per series: a latest value or an aggregate. `value` is None for no data."""

    name: str
    labels: dict[str, str]
    value: float | None
    at: datetime | None = None
    samples: int = 0


def metric_names(session: Session) -> list[str]:
    """Every metric name the store holds a series for, sorted."""
    return list(session.scalars(select(MetricSeries.name).distinct().order_by(MetricSeries.name)))


def find_series(session: Session, name: str, matchers: Matchers = None) -> list[SeriesRef]:
    """The series of metric `name` whose labels satisfy `matchers`."""
    check_name(name)
    wanted = as_matchers(matchers)
    rows = session.execute(
        select(MetricSeries.id, MetricSeries.labels)
        .where(MetricSeries.name == name)
        .order_by(MetricSeries.id)
    )
    found = []
    for series_id, labels in rows:
        text_labels = {str(k): str(v) for k, v in (labels or {}).items()}
        if matches_all(wanted, text_labels):
            found.append(SeriesRef(series_id, name, text_labels))
    return found


def latest(
    session: Session,
    name: str,
    matchers: Matchers = None,
    *,
    now: datetime | None = None,
    max_age: float | timedelta | None = None,
) -> list[Value]:
    """The newest sample of each matching series, at or before `now` and within `max_age`.

    Series with no sample in that span are left out.
    """
    end = to_ms(now) if now is not None else None
    start = end - _ms(max_age) if end is not None and max_age is not None else None
    result = []
    for ref in find_series(session, name, matchers):
        row = _newest_raw(session, ref.id, start, end)
        row = row or _newest_rollup(session, ref.id, start, end)
        if row is not None:
            result.append(Value(name, ref.labels, row[1], from_ms(row[0]), 1))
    return result


def _newest_raw(
    session: Session, series_id: int, start: int | None, end: int | None
) -> tuple[int, float] | None:
    query = select(MetricSample.at_ms, MetricSample.value).where(
        MetricSample.series_id == series_id
    )
    if end is not None:
        query = query.where(MetricSample.at_ms <= end)
    if start is not None:
        query = query.where(MetricSample.at_ms >= start)
    row = session.execute(query.order_by(MetricSample.at_ms.desc()).limit(1)).first()
    return (int(row[0]), float(row[1])) if row is not None else None


def _newest_rollup(
    session: Session, series_id: int, start: int | None, end: int | None
) -> tuple[int, float] | None:
    query = select(MetricRollup.minute_ms, MetricRollup.last).where(
        MetricRollup.series_id == series_id
    )
    if end is not None:
        query = query.where(MetricRollup.minute_ms <= end)
    if start is not None:
        query = query.where(MetricRollup.minute_ms >= start // 60_000 * 60_000)
    row = session.execute(query.order_by(MetricRollup.minute_ms.desc()).limit(1)).first()
    return (int(row[0]), float(row[1])) if row is not None else None


def series(
    session: Session, name: str, matchers: Matchers, start: datetime, end: datetime
) -> list[Series]:
    """The points of each matching series in [start, end]: raw samples where they are kept,
    one point per minute (the minute's average, at the minute's start) before that."""
    result = []
    start_ms, end_ms = to_ms(start), to_ms(end)
    for ref in find_series(session, name, matchers):
        minutes, raw = _window(session, ref.id, start_ms, end_ms, summarize_raw=False)
        points = [Point(from_ms(m.minute_ms), m.sum / m.count) for m in minutes]
        points += [Point(from_ms(at), value) for at, value in raw]
        result.append(Series(name, ref.labels, points))
    return result


def aggregate(  # noqa: PLR0917 - the documented positional shape
    session: Session,
    name: str,
    matchers: Matchers,
    fn: str,
    window: float | timedelta,
    now: datetime,
) -> list[Value]:
    """`fn` over the samples of each matching series in (now - window, now].

    `fn` is avg, min, max, sum, count, last, increase, rate (per second) or a percentile such as
    p50, p95, p99. A series with no samples in the window gets `value=None` (count gets 0).
    """
    check_function(fn)
    end_ms = to_ms(now)
    start_ms = end_ms - _ms(window) + 1
    result = []
    for ref in find_series(session, name, matchers):
        minutes, raw = _window(session, ref.id, start_ms, end_ms, summarize_raw=True)
        if minutes:
            value = on_minutes(fn, minutes)
            count = sum(m.count for m in minutes)
        else:
            value, count = on_raw(fn, raw), len(raw)
        result.append(Value(name, ref.labels, value, now, count))
    return result


def _window(
    session: Session, series_id: int, start_ms: int, end_ms: int, *, summarize_raw: bool
) -> tuple[list[MinuteStats], list[RawPoint]]:
    """Rollups for the part of the window that raw retention no longer covers, raw after it.

    With `summarize_raw`, when rollups are needed the raw part is folded into minutes too, so
    the caller can aggregate over one kind of record.
    """
    raw_from = _watermark(session, RAW_KEPT_FROM)
    if raw_from is None or start_ms >= raw_from:
        return [], _raw(session, series_id, start_ms, end_ms)
    rolled_to = min(_watermark(session, ROLLED_UP_TO) or raw_from, end_ms + 1)
    rolled_to = max(rolled_to, raw_from)
    minutes = _rollups(session, series_id, start_ms, rolled_to)
    raw = _raw(session, series_id, rolled_to, end_ms)
    if summarize_raw:
        return minutes + summarize(raw), []
    return minutes, raw


def _raw(session: Session, series_id: int, start_ms: int, end_ms: int) -> list[RawPoint]:
    rows = session.execute(
        select(MetricSample.at_ms, MetricSample.value)
        .where(
            MetricSample.series_id == series_id,
            MetricSample.at_ms >= start_ms,
            MetricSample.at_ms <= end_ms,
        )
        .order_by(MetricSample.at_ms)
    )
    return [(int(at), float(value)) for at, value in rows]


def _rollups(session: Session, series_id: int, start_ms: int, end_ms: int) -> list[MinuteStats]:
    rows = session.scalars(
        select(MetricRollup)
        .where(
            MetricRollup.series_id == series_id,
            MetricRollup.minute_ms >= start_ms // 60_000 * 60_000,
            MetricRollup.minute_ms < end_ms,
        )
        .order_by(MetricRollup.minute_ms)
    )
    return [
        MinuteStats(r.minute_ms, r.count, r.sum, r.min, r.max, r.p95, r.last) for r in rows.all()
    ]


def _watermark(session: Session, name: str) -> int | None:
    return session.scalar(select(MetricWatermark.value_ms).where(MetricWatermark.name == name))


def _ms(span: float | timedelta) -> int:
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    if seconds <= 0:
        raise ValueError(f"a window must be positive, not {seconds}s")
    return round(seconds * 1000)


def values_by_label(values: Sequence[Value], label: str) -> dict[str, float | None]:
    """`{labels[label]: value}` for a list of values (handy for one label per series)."""
    return {v.labels.get(label, ""): v.value for v in values}
