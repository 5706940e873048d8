"""The outbox (one row per message and destination) and each destination's delivery health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class OutboxMessage(Base):
    """One message for one destination. Never deleted by delivery; its receipt stays."""

    __tablename__ = "notify_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(100))
    destination: Mapped[str] = mapped_column(String(32))  # fingerprint of the URL
    destination_display: Mapped[str] = mapped_column(Text)  # the URL with secrets masked
    transport: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(255))
    event: Mapped[str] = mapped_column(String(20))
    occurrence: Mapped[str] = mapped_column(String(100), default="")
    severity: Mapped[str] = mapped_column(String(50), default="")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    receipt: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    claim_token: Mapped[int] = mapped_column(Integer, default=0)
    claim_expires_at: Mapped[datetime | None]
    # The older message of the same key and destination that was unfinished when this one was
    # queued; this one waits until that one is sent or failed (a resolve after its trigger).
    after_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("dedup_key", "event", "occurrence", "channel", "destination"),
        Index("ix_notify_outbox_due", "state", "next_attempt_at"),
        Index("ix_notify_outbox_channel_attempt", "channel", "last_attempt_at"),
    )


class DestinationHealth(Base):
    """How delivery to one destination is going; `failing_since` is set while it is failing."""

    __tablename__ = "notify_destinations"

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), primary_key=True)
    display: Mapped[str] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
