"""Backups: the catalogue of backup attempts and their restore tests.

Revision ID: scheduler_0002
Revises: scheduler_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId, UTCDateTime

revision = "scheduler_0002"
down_revision = "scheduler_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("tool_versions", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("verify_error", sa.Text(), nullable=False),
        sa.Column("pruned_at", UTCDateTime(), nullable=True),
        sa.Column("node_id", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backups"),
    )
    op.create_index("ix_backups_status", "backups", ["status"])
    op.create_index("ix_backups_target_id", "backups", ["target", "id"])
    op.create_table(
        "backup_restore_tests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("backup_id", BigId, nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("restore_seconds", sa.Float(), nullable=True),
        sa.Column("rto_seconds", sa.Float(), nullable=True),
        sa.Column("within_rto", sa.Boolean(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("smoke", sa.JSON(), nullable=False),
        sa.Column("scratch", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backup_restore_tests"),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["backups.id"],
            name="fk_backup_restore_tests_backup_id_backups",
        ),
    )
    op.create_index("ix_backup_restore_tests_backup_id", "backup_restore_tests", ["backup_id"])


def downgrade() -> None:
    op.drop_table("backup_restore_tests")
    op.drop_table("backups")
