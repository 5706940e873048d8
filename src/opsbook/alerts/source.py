"""Reading the metrics store into memory for each evaluation cycle.

A thousand rules must evaluate in well under a second, so a cycle does not ask the store per
rule or per series: it reads every metric the rules name in one query per metric and evaluates
all rules over that snapshot. Between cycles the reader keeps what it read and asks only for
samples newer than its last read (less a margin for batched writes that land late), with a full
re-read every `refresh` seconds; the store stays the only truth, and a restarted process simply
reads everything once. Windows that reach back past raw retention are read through
`metrics.query.series`, which merges in the one-minute rollups.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.alerts.language.series import Labels, MemorySource, labels_of
from opsbook.metrics import query
from opsbook.metrics.tables import MetricSample, MetricSeries, MetricWatermark


@dataclass
class _Held:
    """The samples of one metric read so far, by series id, and the span they cover."""

    start_ms: int
    end_ms: int
    read_at: float  # monotonic seconds of the last full read
    points: dict[int, list[tuple[float, float]]] = field(default_factory=dict)


class StoreReader:
    """Reads snapshots of the metrics store, incrementally between cycles."""

    def __init__(self, *, late_margin: float = 5.0, refresh: float = 300.0) -> None:
        self.late_margin_ms = round(late_margin * 1000)
        self.refresh = refresh
        self._labels: dict[int, Labels] = {}
        self._held: dict[str, _Held] = {}

    def snapshot(
        self,
        session: Session,
        windows: Mapping[str, float],
        now: datetime,
        lookback: float,
        monotonic: float = 0.0,
    ) -> MemorySource:
        """Every sample the rules need at `now`: `windows` maps a metric to its longest window
        (0 for a metric read only at an instant). `monotonic` times the full re-reads."""
        source = MemorySource()
        end_ms = round(now.timestamp() * 1000)
        raw_from = session.scalar(
            select(MetricWatermark.value_ms).where(MetricWatermark.name == query.RAW_KEPT_FROM)
        )
        for name, window in windows.items():
            span = max(window, lookback)
            start_ms = end_ms - round(span * 1000)
            if raw_from is not None and start_ms < raw_from:
                self._held.pop(name, None)
                _from_query(session, source, name, now - timedelta(seconds=span), now)
                continue
            held = self._read(session, name, start_ms, end_ms, monotonic)
            labels = self._labels_of(session, name, set(held.points))
            target = source.series.setdefault(name, {})
            for series_id, points in held.points.items():
                low = bisect.bisect_right(points, (start_ms / 1000.0, float("inf")))
                if low < len(points):
                    target[labels[series_id]] = points[low:]
        return source

    def _read(
        self, session: Session, name: str, start_ms: int, end_ms: int, monotonic: float
    ) -> _Held:
        held = self._held.get(name)
        fresh = (
            held is not None
            and held.start_ms <= start_ms
            and held.end_ms <= end_ms
            and monotonic - held.read_at < self.refresh
        )
        if held is None or not fresh:
            held = _Held(start_ms, end_ms, monotonic, _points(session, name, start_ms, end_ms))
            self._held[name] = held
            return held
        since = max(held.start_ms, held.end_ms - self.late_margin_ms)
        newer = _points(session, name, since, end_ms)
        cut = since / 1000.0
        for series_id, points in held.points.items():
            keep = bisect.bisect_right(points, (cut, float("inf")))
            del points[keep:]
            points.extend(newer.pop(series_id, ()))
        held.points.update(newer)
        first = start_ms / 1000.0
        for series_id in list(held.points):
            points = held.points[series_id]
            drop = bisect.bisect_right(points, (first, float("inf")))
            if drop:
                del points[:drop]
            if not points:
                del held.points[series_id]
        held.start_ms, held.end_ms = start_ms, end_ms
        return held

    def _labels_of(self, session: Session, name: str, ids: set[int]) -> dict[int, Labels]:
        if not ids <= self._labels.keys():
            rows = session.execute(
                select(MetricSeries.id, MetricSeries.labels).where(MetricSeries.name == name)
            )
            for series_id, raw in rows:
                if series_id not in self._labels:
                    self._labels[series_id] = labels_of(
                        {str(k): str(v) for k, v in (raw or {}).items()}
                    )
        return self._labels


def _series_of(name: str) -> Any:
    return select(MetricSeries.id).where(MetricSeries.name == name).scalar_subquery()


def _points(
    session: Session, name: str, start_ms: int, end_ms: int
) -> dict[int, list[tuple[float, float]]]:
    """Samples of metric `name` with start_ms < at <= end_ms, by series, oldest first."""
    rows = session.connection().execute(
        select(MetricSample.series_id, MetricSample.at_ms, MetricSample.value)
        .where(
            MetricSample.series_id.in_(_series_of(name)),
            MetricSample.at_ms > start_ms,
            MetricSample.at_ms <= end_ms,
        )
        .order_by(MetricSample.series_id, MetricSample.at_ms)
    )
    points: dict[int, list[tuple[float, float]]] = {}
    for series_id, at_ms, value in rows:
        found = points.get(series_id)
        if found is None:
            found = points[series_id] = []
        found.append((at_ms / 1000.0, value))
    return points


def _from_query(
    session: Session, source: MemorySource, name: str, start: datetime, end: datetime
) -> None:
    for found in query.series(session, name, None, start, end):
        points = [(p.at.timestamp(), p.value) for p in found.points]
        source.extend(name, labels_of(found.labels), points)


def snapshot(
    session: Session, windows: Mapping[str, float], now: datetime, lookback: float
) -> MemorySource:
    """A one-off snapshot (commands that read once)."""
    return StoreReader().snapshot(session, windows, now, lookback)
