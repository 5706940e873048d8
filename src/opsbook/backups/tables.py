"""The backup catalogue: every backup attempt and every restore test, as rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.base import Base, BigId


class Backup(Base):
    """One backup attempt of a target. A failed attempt is kept, with its error, as history."""

    __tablename__ = "backups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)  # running, ok, failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(Text)  # where the file is: path or s3:// URL
    key: Mapped[str | None] = mapped_column(Text)  # its name inside the destination
    tool_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rows per table, or files
    error: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool | None] = mapped_column(Boolean)  # None: not verified yet
    verified_at: Mapped[datetime | None]
    verify_error: Mapped[str] = mapped_column(Text, default="")
    pruned_at: Mapped[datetime | None]  # its file was deleted by retention
    # The off-site copy: None when none was asked for; see model.OffsiteStatus.
    offsite_status: Mapped[str | None] = mapped_column(String(20))
    offsite_location: Mapped[str | None] = mapped_column(Text)  # path or s3:// URL of the copy
    offsite_verified_at: Mapped[datetime | None]  # when its size and SHA-256 were read back
    offsite_attempts: Mapped[int] = mapped_column(Integer, default=0)
    offsite_error: Mapped[str] = mapped_column(Text, default="")  # why the last attempt failed
    node_id: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_backups_target_id", "target", "id"),)


class BackupTarget(Base):
    """A configured target as opsbook first saw it: until its first good backup, its RPO
    counts from then."""

    __tablename__ = "backup_targets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen_at: Mapped[datetime]


class RestoreTest(Base):
    """One restore of a backup into a scratch database (or folder), measured and checked."""

    __tablename__ = "backup_restore_tests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    backup_id: Mapped[int] = mapped_column(BigId, ForeignKey("backups.id"), index=True)
    target: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # running, passed, failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    restore_seconds: Mapped[float | None] = mapped_column(Float)  # fetch + restore
    rto_seconds: Mapped[float | None] = mapped_column(Float)
    within_rto: Mapped[bool | None] = mapped_column(Boolean)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name: [at backup, restored]
    smoke: Mapped[list[Any]] = mapped_column(default=list)  # [{sql, ok, value, error}]
    scratch: Mapped[str] = mapped_column(Text, default="")  # the scratch database or folder
    error: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
