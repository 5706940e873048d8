"""The store's tables for metric samples.

Times are integer milliseconds since the Unix epoch (as in Prometheus), so bucketing by the minute
is plain arithmetic on SQLite and PostgreSQL alike; the query API speaks aware UTC datetimes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class MetricSeries(Base):
    """One series: a metric name and one set of labels."""

    __tablename__ = "metric_series"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    labels_hash: Mapped[str] = mapped_column(String(32))
    labels: Mapped[dict[str, Any]]

    __table_args__ = (UniqueConstraint("name", "labels_hash", name="uq_metric_series_name_labels"),)


class MetricSample(Base):
    """A raw sample, kept for `metrics.raw_retention`."""

    __tablename__ = "metric_samples"

    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class MetricRollup(Base):
    """One minute of one series: count, sum, min, max, p95 and last value."""

    __tablename__ = "metric_rollups"

    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    minute_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    p95: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)


class MetricWatermark(Base):
    """Progress marks of the upkeep: `rolled_up_to` and `raw_kept_from` (milliseconds)."""

    __tablename__ = "metric_watermarks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value_ms: Mapped[int] = mapped_column(BigInteger)
