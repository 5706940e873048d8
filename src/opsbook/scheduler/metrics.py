"""The scheduler's metrics, computed from the job rows (so every node computes the same).

    job_last_success_timestamp_seconds{job}   Unix time the last successful run finished
    job_last_run_failed{job}                  1 when the last finished run failed, else 0
    job_overdue{job}                          1 when no success came by its due time (dead man)

Samples go to a `MetricSink`; the metrics store's batched writer is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from opsbook.config.schedules import ScheduleConfig
from opsbook.scheduler import service
from opsbook.scheduler.deadman import is_overdue


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of a metric at a time."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    value: float = 0.0
    at: datetime | None = None


class MetricSink(Protocol):
    def write(self, samples: Sequence[Sample]) -> None:
        """Store `samples`; may batch them."""
        ...


def job_samples(session: Session, specs: Sequence[ScheduleConfig], now: datetime) -> list[Sample]:
    """The current value of every job metric, for every configured job."""
    states = service.states(session)
    running = service.running_jobs(session)
    samples: list[Sample] = []
    for spec in specs:
        state = states.get(spec.name)
        if state is None:
            continue
        labels = {"job": spec.name}
        if state.last_success_at is not None:
            stamp = state.last_success_at.timestamp()
            samples.append(Sample("job_last_success_timestamp_seconds", labels, stamp, now))
        failed = 1.0 if state.last_run_failed else 0.0
        samples.append(Sample("job_last_run_failed", labels, failed, now))
        baseline = state.last_success_for or state.created_at
        late = is_overdue(spec, baseline, running=spec.name in running, now=now)
        samples.append(Sample("job_overdue", labels, 1.0 if late else 0.0, now))
    return samples
