from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base


class NodeRow(Base):
    """A running (or recently running) opsbook process and its heartbeat."""

    __tablename__ = "cluster_nodes"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    version: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)
    lease_seconds: Mapped[float]
    stopped_at: Mapped[datetime | None]
