"""The write side of the metrics store.

`write_samples(session, samples)` writes inside the caller's transaction (a job that records its
own outcome and metrics in one unit of work). `MetricWriter` batches samples from the hot path of
probes and workers and writes them from a thread, once per `flush_interval`: a slow disk or a busy
SQLite file delays the write, never the caller, and a failed write is retried with back-off.
Writes are idempotent: a sample is keyed by (series, time), so a retried batch never doubles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from opsbook.metrics.model import Sample, labels_hash, to_ms
from opsbook.metrics.tables import MetricSample, MetricSeries
from opsbook.storage import Database

__all__ = ["MetricWriter", "Sample", "SeriesCache", "WriteSink", "WriterStats", "write_samples"]

log = logging.getLogger(__name__)

_CHUNK = 500
RETRY_DELAYS_SECONDS = (2.0, 5.0, 10.0, 30.0)

SeriesKey = tuple[str, str]  # (name, labels hash)


class SeriesCache:
    """Series ids already known to exist, so a steady stream of samples costs no lookups."""

    def __init__(self, limit: int = 200_000) -> None:
        self._ids: dict[SeriesKey, int] = {}
        self._limit = limit

    def get(self, key: SeriesKey) -> int | None:
        return self._ids.get(key)

    def put(self, key: SeriesKey, series_id: int) -> None:
        if len(self._ids) >= self._limit:
            self._ids.clear()
        self._ids[key] = series_id


def dialect_insert(session: Session, table: Table) -> Any:
    """An INSERT for `table` with the dialect's ON CONFLICT clauses available."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def write_samples(
    session: Session, samples: Iterable[Sample], *, cache: SeriesCache | None = None
) -> int:
    """Write `samples` in the caller's transaction; returns how many were written.

    Non-finite values (NaN, ±Inf) are skipped. A second sample for the same series and
    millisecond replaces the first.
    """
    rows: dict[tuple[SeriesKey, int], Sample] = {}
    for sample in samples:
        if sample.finite:
            rows[((sample.name, labels_hash(sample.labels)), to_ms(sample.at))] = sample
    if not rows:
        return 0
    by_key = {key: sample for (key, _), sample in rows.items()}
    ids = series_ids(session, by_key, cache=cache or SeriesCache())
    values = [
        {"series_id": ids[key], "at_ms": at_ms, "value": float(sample.value)}
        for (key, at_ms), sample in rows.items()
    ]
    insert = dialect_insert(session, MetricSample.__table__)  # type: ignore[arg-type]
    statement = insert.on_conflict_do_update(
        index_elements=["series_id", "at_ms"], set_={"value": insert.excluded.value}
    )
    for start in range(0, len(values), 5000):
        session.execute(statement, values[start : start + 5000])
    return len(values)


def series_ids(
    session: Session, samples: Mapping[SeriesKey, Sample], *, cache: SeriesCache
) -> dict[SeriesKey, int]:
    """The id of each series (keyed by name and labels hash, with one sample of it),
    creating the series that do not exist yet."""
    wanted: dict[SeriesKey, Sample] = {}
    found: dict[SeriesKey, int] = {}
    for key, sample in samples.items():
        known = cache.get(key)
        if known is not None:
            found[key] = known
        else:
            wanted[key] = sample
    if wanted:
        _load_series(session, wanted, found)
        missing = [key for key in wanted if key not in found]
        if missing:
            insert = dialect_insert(session, MetricSeries.__table__)  # type: ignore[arg-type]
            session.execute(
                insert.on_conflict_do_nothing(index_elements=["name", "labels_hash"]),
                [
                    {"name": k[0], "labels_hash": k[1], "labels": dict(wanted[k].labels)}
                    for k in missing
                ],
            )
            _load_series(session, {k: wanted[k] for k in missing}, found)
        for key in wanted:
            cache.put(key, found[key])
    return found


def _load_series(
    session: Session, wanted: dict[SeriesKey, Sample], found: dict[SeriesKey, int]
) -> None:
    hashes = sorted({key[1] for key in wanted})
    for start in range(0, len(hashes), _CHUNK):
        rows = session.execute(
            select(MetricSeries.id, MetricSeries.name, MetricSeries.labels_hash).where(
                MetricSeries.labels_hash.in_(hashes[start : start + _CHUNK])
            )
        )
        for series_id, name, digest in rows:
            if (name, digest) in wanted:
                found[(name, digest)] = series_id


T = TypeVar("T")


class WriteSink(Protocol[T]):
    """Other pending writes that ride in the writer's transaction (check results, for one).

    `take` hands over what is pending (or None), `apply` writes it, and `restore` puts it back
    when the transaction failed so the next flush retries it.
    """

    def take(self) -> T | None: ...

    def apply(self, session: Session, batch: T) -> None: ...

    def restore(self, batch: T) -> None: ...


@dataclass
class WriterStats:
    written: int = 0
    dropped: int = 0
    flushes: int = 0
    failed_flushes: int = 0
    last_error: str = ""
    last_flush_seconds: float = 0.0


@dataclass
class _Taken(Generic[T]):
    samples: list[Sample]
    sinks: list[tuple[WriteSink[Any], Any]] = field(default_factory=list)


class MetricWriter:
    """Batches samples in memory and writes them off the caller's path.

    `add`/`extend` never block on the store and never raise for store trouble. Run `run(stop)` in
    the event loop (it flushes every `flush_interval` from a worker thread and once more when
    stopping), or call `flush()` directly. At most `max_pending` samples wait; beyond that the
    oldest are dropped and counted in `stats.dropped`.
    """

    name = "metrics-writer"

    def __init__(
        self, db: Database, *, flush_interval: float = 1.0, max_pending: int = 500_000
    ) -> None:
        self.db = db
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.stats = WriterStats()
        self._pending: deque[Sample] = deque()
        self._sinks: list[WriteSink[Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._cache = SeriesCache()
        self._failures = 0

    def add(self, sample: Sample) -> None:
        self.extend((sample,))

    def extend(self, samples: Iterable[Sample]) -> None:
        with self._lock:
            self._pending.extend(samples)
            overflow = len(self._pending) - self.max_pending
            for _ in range(max(0, overflow)):
                self._pending.popleft()
            if overflow > 0:
                self.stats.dropped += overflow

    def write(self, samples: Iterable[Any]) -> None:
        """`extend` for anything shaped like a Sample (name, labels, value, at): the
        `MetricSink` protocol other workers write to."""
        self.extend(
            s if isinstance(s, Sample) else Sample(s.name, dict(s.labels), float(s.value), s.at)
            for s in samples
        )

    def add_sink(self, sink: WriteSink[Any]) -> None:
        with self._lock:
            self._sinks.append(sink)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> bool:
        """Write everything pending in one transaction; False (and kept for later) on failure."""
        with self._flush_lock:
            taken = self._take()
            if not taken.samples and not taken.sinks:
                return True
            started = time.monotonic()
            try:
                with self.db.write() as session:
                    written = write_samples(session, taken.samples, cache=self._cache)
                    for sink, batch in taken.sinks:
                        sink.apply(session, batch)
            except (OperationalError, DBAPIError) as exc:
                self._restore(taken)
                self._failed(str(exc.orig or exc))
                log.warning("metrics writer: store write failed, will retry: %s", exc)
                return False
            except Exception as exc:
                # Not the store's fault: retrying the same batch would fail forever.
                self.stats.dropped += len(taken.samples)
                self._failed(f"{type(exc).__name__}: {exc}")
                log.exception("metrics writer: dropped a batch that cannot be written")
                return False
            self._failures = 0
            self.stats.flushes += 1
            self.stats.written += written
            self.stats.last_flush_seconds = time.monotonic() - started
            return True

    def _failed(self, error: str) -> None:
        self._failures += 1
        self.stats.failed_flushes += 1
        self.stats.last_error = (error.splitlines() or [""])[0]

    def retry_delay(self) -> float:
        """Seconds to wait before the next flush: the interval, longer after failures."""
        if not self._failures:
            return self.flush_interval
        step = RETRY_DELAYS_SECONDS[min(self._failures, len(RETRY_DELAYS_SECONDS)) - 1]
        return max(self.flush_interval, step)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every `flush_interval` until `stop` is set, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.retry_delay())
            await asyncio.to_thread(self.flush)
        await asyncio.to_thread(self.flush)

    def _take(self) -> _Taken[Any]:
        with self._lock:
            samples = list(self._pending)
            self._pending.clear()
            sinks = list(self._sinks)
        taken: _Taken[Any] = _Taken(samples)
        for sink in sinks:
            batch = sink.take()
            if batch is not None:
                taken.sinks.append((sink, batch))
        return taken

    def _restore(self, taken: _Taken[Any]) -> None:
        with self._lock:
            self._pending.extendleft(reversed(taken.samples))
        for sink, batch in taken.sinks:
            sink.restore(batch)
        self.extend(())  # enforce max_pending
