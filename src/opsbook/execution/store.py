"""Runs, steps and output in the store. Every function takes a session and flushes; the caller
commits. Each change a person would ask about later also goes into the journal, in the same
transaction, with `subject=("run", id)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.errors import NotFoundError
from opsbook.execution.model import RunStatus, StepResult, StepStatus
from opsbook.execution.output import Chunk, KeeperFlush, join_chunks
from opsbook.execution.tables import RunOutputRow, RunRow, RunStepRow
from opsbook.journal import service as journal
from opsbook.journal.service import Subject
from opsbook.secrets import Redactor


def subject(run_id: int) -> Subject:
    return Subject("run", str(run_id))


def get_run(session: Session, run_id: int, *, lock: bool = False) -> RunRow:
    row = session.get(RunRow, run_id, with_for_update=lock, populate_existing=lock)
    if row is None:
        raise NotFoundError(f"no run {run_id} (see `opsbook runs list`)")
    return row


def steps_of(session: Session, run_id: int) -> list[RunStepRow]:
    query = select(RunStepRow).where(RunStepRow.run_id == run_id).order_by(RunStepRow.number)
    return list(session.scalars(query))


def get_step(session: Session, run_id: int, number: int) -> RunStepRow:
    row = session.scalar(
        select(RunStepRow).where(RunStepRow.run_id == run_id, RunStepRow.number == number)
    )
    if row is None:
        raise NotFoundError(f"run {run_id} has no step {number}")
    return row


def list_runs(session: Session, *, limit: int = 50, status: str | None = None) -> Sequence[RunRow]:
    query = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
    if status:
        query = query.where(RunRow.status == status)
    return session.scalars(query).all()


_ENGINE_FIELDS = (
    "status",
    "gate",
    "pgid",
    "attempts",
    "started_at",
    "finished_at",
    "exit_code",
    "error",
    "data",
    "output_bytes",
    "duration_seconds",
)


def save_step(session: Session, step: RunStepRow) -> None:
    """Write what the engine changed in `step` (a row it holds, detached) in one UPDATE."""
    values = {name: getattr(step, name) for name in _ENGINE_FIELDS}
    # A Core UPDATE: the ORM's session synchronisation costs milliseconds here, per step.
    table = cast(Table, RunStepRow.__table__)
    session.execute(update(table).where(table.c.id == step.id).values(values))


def start_step(session: Session, clock: Clock, step: RunStepRow, *, pgid: int = 0) -> None:
    """Mark a step running; `pgid` is its process group, so a dead runner's step can be ended."""
    step.status = StepStatus.RUNNING
    step.pgid = pgid
    step.attempts += 1
    step.started_at = clock.now()
    step.finished_at = None
    step.exit_code = None
    step.error = ""
    step.output_bytes = 0
    save_step(session, step)


def finish_step(
    session: Session,
    clock: Clock,
    step: RunStepRow,
    result: StepResult,
    *,
    duration: float | None,
    output_bytes: int,
    actor: str,
    redactor: Redactor,
) -> None:
    """Store a step's result and its journal entry."""
    step.status = result.status
    step.exit_code = result.exit_code
    step.error = redactor.redact(result.error)
    step.data = redactor.redact_data(result.data)
    step.output_bytes = output_bytes
    step.pgid = 0
    step.finished_at = clock.now()
    step.duration_seconds = None if duration is None else round(duration, 6)
    save_step(session, step)
    journal.record(
        session,
        clock,
        actor=actor,
        action="run.step",
        subject=subject(step.run_id),
        summary=f"step {step.number} {step.title}: {result.status.value}"
        + (f" ({step.error})" if step.error else ""),
        details={
            "number": step.number,
            "title": step.title,
            "status": step.status,
            "exit_code": step.exit_code,
            "duration_seconds": step.duration_seconds,
            "confirmed_by": step.confirmed_by,
        },
        redactor=redactor,
    )


def set_waiting(session: Session, clock: Clock, run: RunRow, number: int, reason: str) -> None:
    step = get_step(session, run.id, number)
    step.status = StepStatus.WAITING
    finish_run(session, clock, run, RunStatus.WAITING, reason)


def confirm_step(
    session: Session, clock: Clock, run_id: int, number: int, *, actor: str, via: str
) -> RunStepRow:
    """Record `actor`'s confirmation of a step that needs one; a later resume runs it."""
    step = get_step(session, run_id, number)
    step.confirmed_by = actor
    step.confirmed_at = clock.now()
    session.flush()
    journal.record(
        session,
        clock,
        actor=actor,
        action="run.confirm",
        subject=subject(run_id),
        summary=f"step {number} {step.title} confirmed ({via})",
        details={"number": number, "via": via, "gate": step.gate},
    )
    return step


def finish_run(
    session: Session, clock: Clock, run: RunRow, status: RunStatus, reason: str = ""
) -> None:
    run.status = status
    run.stop_reason = reason
    run.finished_at = clock.now()
    run.heartbeat_at = None
    session.flush()
    journal.record(
        session,
        clock,
        actor=run.operator,
        action="run.finish",
        subject=subject(run.id),
        summary=f"run {run.id} {status.value}" + (f": {reason}" if reason else ""),
        details={"status": status, "reason": reason},
    )


def heartbeat(session: Session, clock: Clock, run_id: int) -> bool:
    """Prove the run is alive; True when someone asked for it to be cancelled."""
    session.execute(
        update(RunRow)
        .where(RunRow.id == run_id, RunRow.status == RunStatus.RUNNING)
        .values(heartbeat_at=clock.now())
    )
    return bool(session.scalar(select(RunRow.cancel_requested).where(RunRow.id == run_id)))


def owned_by(session: Session, run_id: int, host: str, pid: int, *, lock: bool = False) -> bool:
    """True while run `run_id` is running and this process (`host`, `pid`) still owns it: a
    process that was paused while its run was declared interrupted (and perhaps resumed
    elsewhere) must not go on with it."""
    query = select(RunRow.id).where(
        RunRow.id == run_id,
        RunRow.status == RunStatus.RUNNING,
        RunRow.owner_host == host,
        RunRow.owner_pid == pid,
    )
    return session.scalar(query.with_for_update() if lock else query) is not None


def request_cancel(session: Session, clock: Clock, run_id: int, *, actor: str) -> RunRow:
    run = get_run(session, run_id)
    run.cancel_requested = True
    session.flush()
    journal.record(
        session,
        clock,
        actor=actor,
        action="run.cancel",
        subject=subject(run_id),
        summary=f"run {run_id} cancel requested",
    )
    return run


def claim(
    session: Session,
    clock: Clock,
    run_id: int,
    *,
    host: str,
    pid: int,
    started: float,
    from_statuses: Sequence[str],
) -> bool:
    """Take a stopped run for this process; False when another process took it first."""
    taken = session.execute(
        update(RunRow)
        .where(RunRow.id == run_id, RunRow.status.in_(list(from_statuses)))
        .values(
            status=RunStatus.RUNNING,
            owner_host=host,
            owner_pid=pid,
            owner_started=started,
            heartbeat_at=clock.now(),
            cancel_requested=False,
            stop_reason="",
            finished_at=None,
        )
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def stale_runs(session: Session, now: datetime, stale_after: float) -> Sequence[RunRow]:
    """Runs marked running whose heartbeat is older than `stale_after` seconds, or missing."""
    limit = now - timedelta(seconds=stale_after)
    query = select(RunRow).where(RunRow.status == RunStatus.RUNNING)
    return [r for r in session.scalars(query) if r.heartbeat_at is None or r.heartbeat_at < limit]


def running_runs(session: Session) -> Sequence[RunRow]:
    return session.scalars(select(RunRow).where(RunRow.status == RunStatus.RUNNING)).all()


def mark_interrupted(session: Session, clock: Clock, run: RunRow, reason: str) -> None:
    for step in steps_of(session, run.id):
        if step.status == StepStatus.RUNNING:
            step.status = StepStatus.INTERRUPTED
            step.error = reason
            step.finished_at = clock.now()
            step.pgid = 0
    finish_run(session, clock, run, RunStatus.INTERRUPTED, reason)


def append_output(
    session: Session,
    clock: Clock,
    run_id: int,
    number: int,
    *,
    attempt: int,
    flush: KeeperFlush,
) -> None:
    now = clock.now()
    if flush.deletes:
        session.execute(
            delete(RunOutputRow).where(
                RunOutputRow.run_id == run_id,
                RunOutputRow.step_number == number,
                RunOutputRow.attempt == attempt,
                RunOutputRow.offset.in_(flush.deletes),
            )
        )
    session.add_all(
        RunOutputRow(
            run_id=run_id, step_number=number, attempt=attempt, offset=c.offset, text=c.text, at=now
        )
        for c in flush.inserts
    )
    session.flush()


def step_output(session: Session, run_id: int, number: int, attempt: int | None = None) -> str:
    """The kept output of a step's last attempt (or `attempt`), with gaps marked."""
    if attempt is None:
        attempt = get_step(session, run_id, number).attempts
    rows = session.scalars(
        select(RunOutputRow)
        .where(
            RunOutputRow.run_id == run_id,
            RunOutputRow.step_number == number,
            RunOutputRow.attempt == attempt,
        )
        .order_by(RunOutputRow.offset)
    )
    return join_chunks([Chunk(r.offset, r.text) for r in rows])


def output_since(
    session: Session, run_id: int, after_id: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Output pieces of a run newer than `after_id`, oldest first: the live feed for followers."""
    rows = session.scalars(
        select(RunOutputRow)
        .where(RunOutputRow.run_id == run_id, RunOutputRow.id > after_id)
        .order_by(RunOutputRow.id)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "step": r.step_number,
            "attempt": r.attempt,
            "offset": r.offset,
            "text": r.text,
            "at": r.at,
        }
        for r in rows
    ]
