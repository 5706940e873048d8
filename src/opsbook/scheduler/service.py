"""Scheduler operations on the store, given a session and `now`; they flush, the caller commits.

Claiming a fire is a compare-and-swap on `job_states.next_fire_at` plus an insert into the
unique `(job, scheduled_for)` of `job_runs`: when two processes try, exactly one wins. The
worker also holds the cluster's `leader` lease and checks it in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.config.schedules import ScheduleConfig
from opsbook.errors import ConflictError, NotFoundError
from opsbook.journal import service as journal
from opsbook.scheduler.cron import fires_after, next_fire
from opsbook.scheduler.model import Outcome, RunStatus, Trigger
from opsbook.scheduler.tables import JobRun, JobState
from opsbook.secrets import Redactor
from opsbook.storage.wakeup import announce

MISSED_AFTER_SECONDS = 60.0
"""A fire handled later than this after its time was missed (opsbook was down or stalled)."""
STALE_AFTER_SECONDS = 90.0
"""A running run whose heartbeat is older than this belongs to a process that is gone."""


@dataclass(frozen=True, slots=True)
class Fire:
    """The fire to act on now, and how many fires since the last claim it stands for."""

    at: datetime
    count: int
    late: bool


def sync_jobs(
    session: Session, specs: Sequence[ScheduleConfig], now: datetime
) -> dict[str, JobState]:
    """Make the job rows match the config; a new cron, zone or `enabled` resets the next fire."""
    names = [spec.name for spec in specs]
    states = {
        state.name: state
        for state in session.scalars(select(JobState).where(JobState.name.in_(names)))
    }
    for spec in specs:
        state = states.get(spec.name)
        if state is None:
            state = JobState(name=spec.name, created_at=now, last_run_failed=False)
            states[spec.name] = state
            session.add(state)
        elif (state.cron, state.timezone, state.enabled) == (
            spec.cron,
            spec.timezone,
            spec.enabled,
        ):
            continue
        state.cron, state.timezone, state.enabled = spec.cron, spec.timezone, spec.enabled
        state.next_fire_at = next_fire(spec.cron, spec.timezone, now) if spec.enabled else None
    session.flush()
    return states


def due_fire(spec: ScheduleConfig, first: datetime, now: datetime) -> Fire:
    """The newest fire in [first, now] and how many there were (more than one after downtime)."""
    latest, count = first, 1
    for when in fires_after(spec.cron, spec.timezone, first):
        if when > now:
            break
        latest, count = when, count + 1
    return Fire(at=latest, count=count, late=(now - latest).total_seconds() > MISSED_AFTER_SECONDS)


def claim_due(
    session: Session, specs: Mapping[str, ScheduleConfig], now: datetime, node_id: str
) -> list[JobRun]:
    """Claim every due fire and every queued run that may start; returns the runs to start now."""
    due = session.scalars(
        select(JobState)
        .where(JobState.next_fire_at <= now, JobState.name.in_(list(specs)))
        .order_by(JobState.next_fire_at)
        .with_for_update(skip_locked=True)
    ).all()
    to_start: list[JobRun] = []
    for state in due:
        spec = specs[state.name]
        first = state.next_fire_at
        assert first is not None
        following = next_fire(spec.cron, spec.timezone, now)
        moved = session.execute(
            update(JobState)
            .where(JobState.name == state.name, JobState.next_fire_at == first)
            .values(next_fire_at=following)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another process claimed this fire
        run = _act_on_fire(session, spec, due_fire(spec, first, now), now, node_id)
        if run is not None and run.status == RunStatus.RUNNING:
            to_start.append(run)
    to_start.extend(_promote_queued(session, specs, now, node_id))
    session.flush()
    return to_start


def _act_on_fire(
    session: Session, spec: ScheduleConfig, fire: Fire, now: datetime, node_id: str
) -> JobRun | None:
    notes = []
    if fire.count > 1:
        notes.append(f"{fire.count - 1} earlier fire(s) missed while opsbook was not running")
    trigger = Trigger.MISSED if fire.late else Trigger.SCHEDULE
    if fire.late and spec.missed == "skip":
        notes.append(f"fire at {fire.at:%Y-%m-%d %H:%M}Z was missed; missed policy is skip")
        return _insert_run(
            session,
            spec.name,
            fire.at,
            trigger=trigger,
            status=RunStatus.SKIPPED,
            now=now,
            notes=notes,
        )
    if fire.late:
        notes.append(f"late by {(now - fire.at).total_seconds():.0f}s; missed policy is run-once")
    running = _active_run(session, spec.name, RunStatus.RUNNING)
    if running is None:
        run = _insert_run(
            session,
            spec.name,
            fire.at,
            trigger=trigger,
            status=RunStatus.RUNNING,
            now=now,
            notes=notes,
        )
        if run is not None:
            run.node_id, run.started_at, run.heartbeat_at = node_id, now, now
        return run
    if spec.overlap == "queue" and _active_run(session, spec.name, RunStatus.QUEUED) is None:
        notes.append(f"queued behind run #{running.id}")
        return _insert_run(
            session,
            spec.name,
            fire.at,
            trigger=trigger,
            status=RunStatus.QUEUED,
            now=now,
            notes=notes,
        )
    reason = "a run is already queued" if spec.overlap == "queue" else "overlap policy is skip"
    notes.append(f"skipped: run #{running.id} is still running and {reason}")
    return _insert_run(
        session, spec.name, fire.at, trigger=trigger, status=RunStatus.SKIPPED, now=now, notes=notes
    )


def _insert_run(
    session: Session,
    job: str,
    fire: datetime | None,
    *,
    trigger: Trigger,
    status: RunStatus,
    now: datetime,
    notes: list[str],
) -> JobRun | None:
    run = JobRun(
        job=job,
        trigger=trigger.value,
        scheduled_for=fire,
        status=status.value,
        created_at=now,
        note="; ".join(notes),
        output="",
        output_bytes=0,
    )
    if status.finished:
        run.finished_at = now
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None  # this fire already has its run
    return run


def _active_run(session: Session, job: str, status: RunStatus) -> JobRun | None:
    return session.scalars(
        select(JobRun)
        .where(JobRun.job == job, JobRun.status == status.value)
        .order_by(JobRun.id)
        .limit(1)
    ).first()


def _promote_queued(
    session: Session, specs: Mapping[str, ScheduleConfig], now: datetime, node_id: str
) -> list[JobRun]:
    started: list[JobRun] = []
    queued = session.scalars(
        select(JobRun)
        .where(JobRun.status == RunStatus.QUEUED.value, JobRun.job.in_(list(specs)))
        .order_by(JobRun.id)
    ).all()
    for run in queued:
        if _active_run(session, run.job, RunStatus.RUNNING) is not None:
            continue
        moved = session.execute(
            update(JobRun)
            .where(JobRun.id == run.id, JobRun.status == RunStatus.QUEUED.value)
            .values(
                status=RunStatus.RUNNING.value, started_at=now, heartbeat_at=now, node_id=node_id
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(run)
            started.append(run)
    return started


def start_manual(
    session: Session,
    spec: ScheduleConfig,
    now: datetime,
    node_id: str,
    actor: str,
    *,
    clock: Clock | None = None,
) -> JobRun:
    """A run of `spec` now, outside its schedule. Refuses while the job is running (no overlap).

    With `clock`, the start is journaled as `actor`'s (the end always is, by `finish_run`)."""
    sync_jobs(session, [spec], now)
    running = _active_run(session, spec.name, RunStatus.RUNNING)
    if running is not None:
        raise ConflictError(
            f"job {spec.name!r} is running now (run #{running.id}, started "
            f"{running.started_at:%Y-%m-%d %H:%M:%S}Z); wait for it to finish"
        )
    run = _insert_run(
        session,
        spec.name,
        None,
        trigger=Trigger.MANUAL,
        status=RunStatus.RUNNING,
        now=now,
        notes=[],
    )
    assert run is not None  # manual runs have no fire time, so nothing can collide
    run.actor, run.node_id, run.started_at, run.heartbeat_at = actor, node_id, now, now
    session.flush()
    if clock is not None:
        journal.record(
            session,
            clock,
            actor=actor,
            action="job.started",
            subject=journal.Subject("job", spec.name),
            summary=f"job {spec.name} run #{run.id} started by hand",
            details={"run_id": run.id},
        )
    return run


def heartbeat(session: Session, run_id: int, now: datetime) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.status == RunStatus.RUNNING.value)
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )


def finish_run(
    session: Session,
    clock: Clock,
    run_id: int,
    outcome: Outcome,
    *,
    redactor: Redactor | None = None,
) -> JobRun:
    """Record how a run ended, update its job's last outcomes, and journal it."""
    now = clock.now()
    run = session.get(JobRun, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        raise NotFoundError(f"no job run #{run_id}")
    run.status = outcome.status.value
    run.exit_code = outcome.exit_code
    run.output = outcome.output
    run.output_bytes = outcome.output_bytes
    run.duration_seconds = outcome.duration_seconds
    run.finished_at = now
    if outcome.note:
        run.note = "; ".join(filter(None, [run.note, outcome.note]))
    _record_outcome(session, run, outcome.status, now)
    verb = outcome.status.value.replace("_", " ")
    journal.record(
        session,
        clock,
        actor=run.actor,
        action=f"job.{outcome.status.value}",
        subject=journal.Subject("job", run.job),
        summary=f"job {run.job} run #{run.id} {verb} in {outcome.duration_seconds:.1f}s"
        + (f" (exit {outcome.exit_code})" if outcome.exit_code not in (None, 0) else ""),
        details={"run_id": run.id, "exit_code": outcome.exit_code, "note": run.note},
        redactor=redactor,
    )
    announce(session, "jobs")  # a queued run may start now, whichever node leads
    session.flush()
    return run


def _record_outcome(session: Session, run: JobRun, status: RunStatus, now: datetime) -> None:
    state = session.get(JobState, run.job, with_for_update=True)
    if state is None or (state.last_run_id or 0) > run.id:
        return  # a newer run already reported
    state.last_run_id = run.id
    if status == RunStatus.SUCCEEDED:
        state.last_success_at = now
        state.last_success_for = run.scheduled_for or run.started_at or now
        state.last_run_failed = False
    elif status.failed:
        state.last_failure_at = now
        state.last_run_failed = True


def mark_stale(
    session: Session,
    now: datetime,
    *,
    keep: frozenset[int] = frozenset(),
    dead_nodes: Sequence[str] = (),
) -> list[JobRun]:
    """Mark running runs whose process is gone (no heartbeat for a while, or their node is
    dead to the cluster) as interrupted."""
    cutoff = now - timedelta(seconds=STALE_AFTER_SECONDS)
    gone = JobRun.heartbeat_at < cutoff
    if dead_nodes:
        gone = or_(gone, JobRun.node_id.in_(list(dead_nodes)))
    stale = session.scalars(
        select(JobRun).where(
            JobRun.status == RunStatus.RUNNING.value,
            gone,
            JobRun.id.not_in(list(keep)),
        )
    ).all()
    for run in stale:
        run.status = RunStatus.INTERRUPTED.value
        run.finished_at = now
        seen = f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S}Z" if run.heartbeat_at else "never"
        run.note = "; ".join(
            filter(
                None,
                [run.note, f"opsbook stopped while it ran on {run.node_id} (last seen {seen})"],
            )
        )
        _record_outcome(session, run, RunStatus.INTERRUPTED, now)
    session.flush()
    return list(stale)


def history(session: Session, job: str, limit: int = 20) -> list[JobRun]:
    """The newest runs of `job`, newest first."""
    return list(
        session.scalars(
            select(JobRun).where(JobRun.job == job).order_by(JobRun.id.desc()).limit(limit)
        )
    )


def states(session: Session) -> dict[str, JobState]:
    return {state.name: state for state in session.scalars(select(JobState))}


def running_jobs(session: Session) -> set[str]:
    return set(session.scalars(select(JobRun.job).where(JobRun.status == RunStatus.RUNNING.value)))
