"""Samples the maintenance commands record (a database's size, a log scan's figures).

They go to the metrics store, so alert rules and the dashboard see them under the same names,
and `pg growth` reads its size history back from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from opsbook.metrics import query
from opsbook.metrics.model import Sample
from opsbook.metrics.store import write_samples as _write_samples

__all__ = ["Sample", "series", "write_samples"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def write_samples(session: Session, samples: Iterable[Sample]) -> int:
    """Add the samples in the caller's transaction (non-finite values are skipped)."""
    return _write_samples(session, samples)


def series(
    session: Session,
    name: str,
    labels: Mapping[str, str],
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[tuple[datetime, float]]:
    """(time, value) points of the series with exactly these labels, oldest first."""
    found = query.series(session, name, dict(labels), start or _EPOCH, end or _END_OF_TIME)
    exact = [s for s in found if s.labels == dict(labels)]
    return [(p.at, p.value) for s in exact for p in s.points]
