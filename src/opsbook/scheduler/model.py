"""Typed values of the scheduler: run states and the outcome of one run. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"  # waiting for the job's previous run to finish (overlap: queue)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # non-zero exit, or the job could not be started
    TIMED_OUT = "timed_out"  # killed, with its whole process group, at the job's timeout
    SKIPPED = "skipped"  # a fire not run: overlap or missed-run policy said so
    INTERRUPTED = "interrupted"  # opsbook stopped or died while it ran

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def failed(self) -> bool:
        return self in (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.INTERRUPTED)


class Trigger(StrEnum):
    SCHEDULE = "schedule"  # fired on time
    MISSED = "missed"  # fired late, for fires missed while opsbook was down
    MANUAL = "manual"  # `opsbook jobs run NAME`


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one run ended."""

    status: RunStatus
    exit_code: int | None
    output: str  # capped and redacted
    output_bytes: int  # everything the run printed, before capping
    duration_seconds: float
    note: str = ""
