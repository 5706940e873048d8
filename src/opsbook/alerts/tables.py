"""The store's tables for alerts: alerts, their transitions, notification groups, silences.

Everything a second node would need lives here, never only in memory: when an alert started
pending, fired, began to keep firing, whether its firing and its resolve were announced, what a
group last sent and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class AlertRow(Base):
    """One alert: a rule and one label set, from its first match until it resolved."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(200), index=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    labels: Mapped[dict[str, Any]]
    group_key: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))  # pending, firing, resolved
    # rule/fingerprint while pending or firing, NULL after: at most one open alert per series.
    open_key: Mapped[str | None] = mapped_column(String(240), unique=True)
    # True while pending, firing, or resolved with its resolve still to send.
    live: Mapped[bool] = mapped_column(Boolean, index=True)
    value: Mapped[float | None] = mapped_column(Float)
    active_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    keep_firing_since: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    last_eval_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]  # its firing was announced
    resolve_notified_at: Mapped[datetime | None]
    suppressed_by: Mapped[str | None] = mapped_column(String(200))  # "silence 3", "window x"
    acked_by: Mapped[str | None] = mapped_column(String(200))
    acked_at: Mapped[datetime | None]
    ack_comment: Mapped[str] = mapped_column(Text, default="")


class AlertTransitionRow(Base):
    """One state change of an alert, with the value that caused it (incidents read these)."""

    __tablename__ = "alert_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    rule: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]]
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(index=True)
    suppressed_by: Mapped[str | None] = mapped_column(String(200))


class AlertGroupRow(Base):
    """What a notification group last sent, so timing survives restarts and node changes."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    rule: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]]
    episode: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    last_flush_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(Integer, default=0)


class SilenceRow(Base):
    """Holds back notifications of the alerts its matchers select, until it expires."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    matchers: Mapped[list[Any]]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    author: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    ended_by: Mapped[str | None] = mapped_column(String(200))  # who lifted it early

    __table_args__ = (Index("ix_silences_starts_ends", "starts_at", "ends_at"),)
