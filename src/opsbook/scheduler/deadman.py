"""The dead man's switch: when a job's next success is due, and whether it is overdue.

As Healthchecks does for cron checks, the due time is the first fire after the fire that the
last success ran for (or after the job was first seen), taken in the job's zone and converted
to UTC before the grace is added, so a DST change moves no deadline. Pure functions of their
input and `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsbook.config.schedules import ScheduleConfig
from opsbook.scheduler.cron import next_fire


def success_due(spec: ScheduleConfig, baseline: datetime) -> datetime:
    """When the next success must have happened by: the next fire after `baseline`, plus grace."""
    return next_fire(spec.cron, spec.timezone, baseline) + timedelta(seconds=spec.grace)


def is_overdue(spec: ScheduleConfig, baseline: datetime, *, running: bool, now: datetime) -> bool:
    """True when no success came by its due time. A run still going is judged when it ends
    (its timeout bounds it), so it does not make the job overdue."""
    if not spec.enabled or running:
        return False
    return now > success_due(spec, baseline)
