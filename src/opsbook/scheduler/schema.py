"""The versioned JSON of jobs and runs, shared by `opsbook jobs ... --json` and the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsbook.config.schedules import ScheduleConfig
from opsbook.scheduler import service
from opsbook.scheduler.deadman import is_overdue, success_due
from opsbook.scheduler.tables import JobRun, JobState


def run_json(run: JobRun, *, with_output: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "job": run.job,
        "trigger": run.trigger,
        "status": run.status,
        "scheduled_for": run.scheduled_for,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": run.duration_seconds,
        "exit_code": run.exit_code,
        "note": run.note,
        "node_id": run.node_id,
        "actor": run.actor,
        "output_bytes": run.output_bytes,
    }
    if with_output:
        data["output"] = run.output
    return data


def job_json(
    spec: ScheduleConfig,
    state: JobState | None,
    last_run: JobRun | None,
    *,
    running: bool,
    now: datetime,
) -> dict[str, Any]:
    baseline = (state.last_success_for or state.created_at) if state else None
    return {
        "name": spec.name,
        "cron": spec.cron,
        "timezone": spec.timezone,
        "kind": spec.kind,
        "target": spec.target,
        "enabled": spec.enabled,
        "overlap": spec.overlap,
        "missed": spec.missed,
        "timeout_seconds": spec.timeout,
        "grace_seconds": spec.grace,
        "next_fire_at": state.next_fire_at if state else None,
        "running": running,
        "last_run": run_json(last_run, with_output=False) if last_run else None,
        "last_success_at": state.last_success_at if state else None,
        "last_run_failed": bool(state and state.last_run_failed),
        "success_due_at": success_due(spec, baseline) if baseline and spec.enabled else None,
        "overdue": bool(baseline and is_overdue(spec, baseline, running=running, now=now)),
    }


def jobs_json(
    session: Session, specs: Sequence[ScheduleConfig], now: datetime
) -> list[dict[str, Any]]:
    """Every job of `specs` as `job_json`, in config order (`opsbook jobs list`, the API)."""
    states = service.states(session)
    running = service.running_jobs(session)
    items = []
    for spec in specs:
        last = next(iter(service.history(session, spec.name, limit=1)), None)
        items.append(
            job_json(spec, states.get(spec.name), last, running=spec.name in running, now=now)
        )
    return items
