"""What a check run produces: an outcome, a status, measurements and an error text. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from opsbook.metrics.model import Sample


class Outcome(StrEnum):
    """What one run saw: all well, a warning (slow, certificate expiring), or a failure."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class Status(StrEnum):
    """A check's status, and the rollup of many. `unknown`: no recent result (no data)."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


STATUS_VALUES = {Status.HEALTHY: 0, Status.DEGRADED: 1, Status.UNHEALTHY: 2}
"""`check_status` sample values."""

_SEVERITY = {Outcome.OK: 0, Outcome.WARN: 1, Outcome.FAIL: 2}


@dataclass(frozen=True, slots=True)
class Measurement:
    """A metric a probe observed; the runner adds the `check` label and the time."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Observation:
    """Filled in by a probe: measurements, warnings and failures, and its new cursor.

    `previous` is the cursor the last run kept (a log offset, CPU times), None on a first run;
    a probe that keeps state sets `cursor`.
    """

    previous: dict[str, Any] | None = None
    outcome: Outcome = Outcome.OK
    messages: list[str] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    cursor: dict[str, Any] | None = None

    def add(self, name: str, value: float, **labels: str) -> None:
        self.measurements.append(Measurement(name, float(value), labels))

    def warn(self, message: str) -> None:
        self._note(Outcome.WARN, message)

    def fail(self, message: str) -> None:
        self._note(Outcome.FAIL, message)

    def _note(self, outcome: Outcome, message: str) -> None:
        if _SEVERITY[outcome] > _SEVERITY[self.outcome]:
            self.outcome = outcome
        self.messages.append(message)

    @property
    def message(self) -> str:
        return "; ".join(self.messages)


def status_of(outcome: Outcome, critical: bool) -> Status:
    """A run's status: a failure of a critical check is unhealthy, of any other degraded."""
    if outcome is Outcome.OK:
        return Status.HEALTHY
    if outcome is Outcome.WARN or not critical:
        return Status.DEGRADED
    return Status.UNHEALTHY


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One run of one check."""

    name: str
    type: str
    critical: bool
    outcome: Outcome
    status: Status
    error: str | None
    latency: float  # seconds
    at: datetime  # when the run started
    samples: list[Sample] = field(default_factory=list)
    cursor: dict[str, Any] | None = None

    @property
    def up(self) -> bool:
        return self.outcome is not Outcome.FAIL
