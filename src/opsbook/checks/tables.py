"""Each check's schedule and flap state as a row, its status changes, and its gaps.

Nothing a second node would need lives only in one process: the next due time, who has claimed
the current run, the flap counters and a kind's cursor (a log offset) are all here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class CheckState(Base):
    __tablename__ = "check_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool]
    spec_hash: Mapped[str] = mapped_column(String(32))
    interval_seconds: Mapped[float] = mapped_column(Float)
    timeout_seconds: Mapped[float] = mapped_column(Float)
    next_due_at: Mapped[datetime] = mapped_column(index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None]
    claim_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12))
    status_since: Mapped[datetime | None]
    failing: Mapped[bool] = mapped_column(default=False)
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    successes_in_row: Mapped[int] = mapped_column(Integer, default=0)
    recent: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str | None] = mapped_column(String(8))
    last_run_at: Mapped[datetime | None]
    last_latency_seconds: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    host: Mapped[str | None] = mapped_column(String(200))  # only nodes on this machine run it
    last_node: Mapped[str | None] = mapped_column(String(200))  # the node that ran it last


class CheckFlip(Base):
    """A change of a check's status (after flap control), with the error that caused it."""

    __tablename__ = "check_flips"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    check: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_check_flips_check_at", "check", "at"),)


class CheckGap(Base):
    """A span in which a check was not observed (opsbook was down or behind): no data."""

    __tablename__ = "check_gaps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    check: Mapped[str] = mapped_column(String(100))
    start: Mapped[datetime]
    end: Mapped[datetime]

    __table_args__ = (Index("ix_check_gaps_check_start", "check", "start"),)
