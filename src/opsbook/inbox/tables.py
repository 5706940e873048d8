"""Alerts received from Alertmanager: one row per alert fingerprint, updated as it changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class ExternalAlert(Base):
    __tablename__ = "external_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(50))  # "alertmanager"
    fingerprint: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # firing | resolved
    name: Mapped[str] = mapped_column(String(200))  # the alertname label
    severity: Mapped[str] = mapped_column(String(50))
    summary: Mapped[str] = mapped_column(Text)
    labels: Mapped[dict[str, Any]] = mapped_column()
    annotations: Mapped[dict[str, Any]] = mapped_column()
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    generator_url: Mapped[str] = mapped_column(Text)
    receiver: Mapped[str] = mapped_column(String(200))
    first_received_at: Mapped[datetime]
    last_received_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("source", "fingerprint", name="uq_external_alerts_source_fingerprint"),
        Index("ix_external_alerts_status", "status"),
    )
