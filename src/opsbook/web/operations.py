"""What the pages show of scheduled jobs and backups: each job's and target's state as a word
and a colour (green, yellow, red, unknown), what needs attention on the dashboard, and the
colour of each `thresholds:` row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from opsbook.alerts.schema import threshold_json
from opsbook.alerts.thresholds import statuses_now
from opsbook.backups.overview import TargetOverview, target_json, target_overviews
from opsbook.runtime import Runtime
from opsbook.scheduler.model import RunStatus
from opsbook.scheduler.schema import jobs_json


def job_state(job: dict[str, Any]) -> tuple[str, str]:
    """A job's state and colour: `overdue` or `failed` are red, `ok` green, `running` and
    `disabled` and `not run yet` unknown."""
    if not job["enabled"]:
        return "disabled", "unknown"
    if job["overdue"]:
        return "overdue", "red"
    if job["last_run_failed"]:
        return "failed", "red"
    if job["running"]:
        return "running", "unknown"
    if job["last_success_at"] is None:
        return "not run yet", "unknown"
    return "ok", "green"


def run_colour(status: str) -> str:
    """A job run's colour: succeeded green, skipped yellow, failed (or timed out, interrupted)
    red, queued or running unknown."""
    run = RunStatus(status)
    if run == RunStatus.SUCCEEDED:
        return "green"
    if run == RunStatus.SKIPPED:
        return "yellow"
    return "red" if run.failed else "unknown"


def target_state(target: TargetOverview) -> tuple[str, str]:
    """A backup target's state against its RPO: red past it (or with no good backup), yellow
    within it while the last attempt or restore test failed, else green."""
    if target.newest_good is None:
        return "no good backup", "red"
    if target.past_rpo:
        return "past RPO", "red"
    if target.last_failed:
        return "last attempt failed", "yellow"
    return "within RPO", "green"


def rto_colour(within_rto: bool | None) -> str:
    return {True: "green", False: "red", None: "unknown"}[within_rto]


@dataclass
class Attention:
    """Failing or overdue jobs and backup targets past their RPO (or whose last try failed)."""

    jobs: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.jobs or self.targets)


def attention(runtime: Runtime, session: Session) -> Attention:
    now = runtime.clock.now()
    settings = runtime.config.settings
    found = Attention()
    for job in jobs_json(session, settings.schedules, now):
        state, colour = job_state(job)
        if colour == "red":
            found.jobs.append({**job, "state": state, "colour": colour})
    for target in target_overviews(session, runtime.config, now):
        state, colour = target_state(target)
        if colour != "green":
            found.targets.append({**target_json(target), "state": state, "colour": colour})
    return found


def threshold_rows(runtime: Runtime, session: Session) -> list[dict[str, Any]]:
    """Each `thresholds:` row's colour per series now, as `opsbook alerts thresholds --json`."""
    settings = runtime.config.settings
    if not settings.thresholds:
        return []
    return [threshold_json(s) for s in statuses_now(session, settings, runtime.clock.now())]
