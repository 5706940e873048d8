"""Jobs and their runs as rows: next fire times, running runs and history live in the store.

A fire is claimed by moving `job_states.next_fire_at` forward with a conditional UPDATE and
inserting its run; `(job, scheduled_for)` is unique, so no fire runs twice across processes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class JobState(Base):
    """One configured job: its schedule as last seen, the next fire and the last outcomes."""

    __tablename__ = "job_states"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_fire_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_success_at: Mapped[datetime | None]  # when the last successful run finished
    last_success_for: Mapped[datetime | None]  # the fire it ran for (its start when manual)
    last_failure_at: Mapped[datetime | None]
    last_run_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_run_id: Mapped[int | None] = mapped_column(BigId)


class JobRun(Base):
    """One run of a job, or one fire that was skipped; never deleted by the scheduler."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(20))  # schedule, missed, manual
    scheduled_for: Mapped[datetime | None]  # the fire time; None for a manual run
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    output: Mapped[str] = mapped_column(Text, default="")
    output_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # before capping
    note: Mapped[str] = mapped_column(Text, default="")
    node_id: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200), default="scheduler")

    __table_args__ = (
        UniqueConstraint("job", "scheduled_for", name="uq_job_runs_job_scheduled_for"),
        Index("ix_job_runs_job_id", "job", "id"),
    )
