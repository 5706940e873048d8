"""Runs, their steps and their output, as rows another process can read while a run goes on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class RunRow(Base):
    """One run of a procedure (or one part of it)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    runbook_path: Mapped[str] = mapped_column(Text)
    runbook_sha256: Mapped[str] = mapped_column(String(64))
    procedure: Mapped[str] = mapped_column(String(300))
    procedure_slug: Mapped[str] = mapped_column(String(300))
    part: Mapped[str] = mapped_column(String(300), default="")
    procedure_sha256: Mapped[str] = mapped_column(String(64))  # of the selected steps' text
    operator: Mapped[str] = mapped_column(String(200))
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)  # secrets masked
    secret_names: Mapped[list[Any]] = mapped_column(default=list)
    connections: Mapped[dict[str, Any]] = mapped_column(default=dict)  # passwords masked
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_dir: Mapped[str] = mapped_column(Text, default="")
    owner_host: Mapped[str] = mapped_column(String(200), default="")
    owner_pid: Mapped[int] = mapped_column(Integer, default=0)
    owner_started: Mapped[float] = mapped_column(Float, default=0.0)  # process create time
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RunStepRow(Base):
    """One step of a run; `number` is the step's number as the operator selected it."""

    __tablename__ = "run_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    part: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(20))
    line: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    gate: Mapped[list[Any]] = mapped_column(default=list)  # why it needs confirmation
    confirmed_by: Mapped[str] = mapped_column(String(200), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # all output, kept or not
    pgid: Mapped[int] = mapped_column(Integer, default=0)  # process group of a running step
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (UniqueConstraint("run_id", "number", name="uq_run_steps_run_id_number"),)


class RunOutputRow(Base):
    """A piece of a step's output, masked, appended as it arrives (the live feed and the record).

    `offset` is the byte position in the step's whole output; a jump between two chunks marks
    output that was not kept (the middle of a very long output).
    """

    __tablename__ = "run_output"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_number: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    offset: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_run_output_run", "run_id", "id"),)


class RunStateRow(Base):
    """A run's shell state and the values it was given, sealed (encrypted) for the other nodes
    of a cluster, so any of them can resume it (`execution.vault`). Never shown anywhere."""

    __tablename__ = "run_state"

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[bytes | None] = mapped_column(LargeBinary)  # state.sh, sealed
    inputs: Mapped[bytes | None] = mapped_column(LargeBinary)  # inputs.json, sealed
    updated_at: Mapped[datetime]
