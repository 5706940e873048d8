"""Typed objects of a run: statuses, what a run is asked to do, and what a step produced.

Pure data, no I/O. Runs and steps are stored as rows (`tables.py`); these are the values passed
between the engine, the store and the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opsbook.runbook.model import Procedure, Runbook, Step


class StepStatus(StrEnum):
    PENDING = "pending"  # not reached yet
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"  # reference code shown, or a step the operator chose to skip
    WAITING = "waiting"  # needs a person's confirmation before it runs
    INTERRUPTED = "interrupted"  # killed by Ctrl-C, a cancel, or the runner's death


class RunStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"  # every step ok or skipped
    FAILED = "failed"  # a step failed or timed out
    WAITING = "waiting"  # stopped before a step that needs confirmation
    INTERRUPTED = "interrupted"  # Ctrl-C, cancel, or the runner died


DONE_STEP = frozenset({StepStatus.OK, StepStatus.SKIPPED})
"""Step statuses a resume does not run again."""

FINISHED_RUN = frozenset({RunStatus.OK, RunStatus.FAILED, RunStatus.WAITING, RunStatus.INTERRUPTED})


@dataclass(frozen=True)
class RunOptions:
    """How to run. `timeout` (seconds) overrides every step's own timeout when set."""

    timeout: float | None = None
    continue_on_error: bool = False
    yes: bool = False  # the operator confirms every gate and manual step in advance
    default_connection: str | None = None  # name or URL for SQL steps that name none
    cwd: str = ""  # working directory of the first shell step; "" = the caller's

    def to_data(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "continue_on_error": self.continue_on_error,
            "default_connection": self.default_connection,
            "cwd": self.cwd,
        }


@dataclass(frozen=True)
class RunRequest:
    """Everything `service.start` needs to begin a run.

    `variables` are the values given for this run (`--var`, env file, answered prompts); they
    reach steps only as environment variables. `secret_names` marks those masked everywhere.
    `steps` are the selected steps with their numbers as the operator sees them.
    """

    runbook: Runbook
    procedure: Procedure
    steps: tuple[Step, ...]
    part: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()
    connections: dict[str, str] = field(default_factory=dict)  # --connection NAME=URL
    operator: str = "opsbook"
    options: RunOptions = field(default_factory=RunOptions)


@dataclass
class StepResult:
    """What running one step produced. `output` is already masked."""

    status: StepStatus
    exit_code: int | None = None
    error: str = ""  # one line saying why it did not succeed
    data: dict[str, Any] = field(default_factory=dict)  # row counts, action data, ...

    @property
    def ok(self) -> bool:
        return self.status in DONE_STEP
