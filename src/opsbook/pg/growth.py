"""Database growth from recorded size samples, and when the disk will be full at that rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SAMPLE_NAME = "pg_database_size_bytes"
DAY = 86400.0


@dataclass(frozen=True)
class Projection:
    samples: int
    first: datetime | None
    last: datetime | None
    size_bytes: float | None  # the latest sample
    bytes_per_day: float | None  # least-squares slope; None with fewer than two samples
    disk_free_bytes: float | None
    days_until_full: float | None  # None when not growing or the disk is unknown
    full_at: datetime | None


def project(points: list[tuple[datetime, float]], disk_free: float | None) -> Projection:
    """Fit a line through (time, size) and tell when `disk_free` more bytes will be used."""
    if not points:
        return Projection(0, None, None, None, None, disk_free, None, None)
    first, last = points[0][0], points[-1][0]
    size = points[-1][1]
    slope = _slope(points)
    days = None
    full_at = None
    if slope is not None and slope > 0 and disk_free is not None:
        days = disk_free / slope
        full_at = last + timedelta(days=days)
    return Projection(len(points), first, last, size, slope, disk_free, days, full_at)


def _slope(points: list[tuple[datetime, float]]) -> float | None:
    """Bytes per day by least squares over the samples; None when time did not move."""
    if len(points) < 2:
        return None
    origin = points[0][0]
    xs = [(at - origin).total_seconds() / DAY for at, _ in points]
    ys = [value for _, value in points]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
