from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    commander: Mapped[str | None] = mapped_column(String(200))
    impact: Mapped[str] = mapped_column(Text, default="")
    components: Mapped[list[Any]] = mapped_column(default=list)
    participants: Mapped[list[Any]] = mapped_column(default=list)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    runbook: Mapped[str] = mapped_column(String(500), default="")
    group_key: Mapped[str | None] = mapped_column(String(500), index=True)
    public: Mapped[bool] = mapped_column(default=False)
    opened_by: Mapped[str] = mapped_column(String(200))
    detected_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The ladder in force, copied when the incident opened, and where the climb stands.
    ladder: Mapped[list[Any]] = mapped_column(default=list)
    escalation_level: Mapped[int] = mapped_column(default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    last_update_at: Mapped[datetime | None]
    next_update_due_at: Mapped[datetime | None] = mapped_column(index=True)


class IncidentEventRow(Base):
    """One timeline entry. Entries are only ever added."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_incident_events_incident", "incident_id", "id"),)


class IncidentLinkRow(Base):
    """An alert or a run attached to an incident."""

    __tablename__ = "incident_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "alert" or "run"
    ref: Mapped[str] = mapped_column(String(500))  # alert fingerprint / run id
    label: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)  # alert still firing
    linked_at: Mapped[datetime]

    __table_args__ = (
        Index("uq_incident_links_ref", "incident_id", "kind", "ref", unique=True),
        Index("ix_incident_links_lookup", "kind", "ref"),
    )


class ActionItemRow(Base):
    __tablename__ = "incident_action_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200), default="")
    due: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, done, dropped
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IncidentCursorRow(Base):
    """How far the incident loop has read a feed (the alert transitions)."""

    __tablename__ = "incident_cursors"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
