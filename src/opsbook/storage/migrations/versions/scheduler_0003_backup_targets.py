"""Backup targets: when opsbook first saw each one, the RPO's baseline before a first backup.

Revision ID: scheduler_0003
Revises: scheduler_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import UTCDateTime

revision = "scheduler_0003"
down_revision = "scheduler_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_targets",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_backup_targets"),
    )


def downgrade() -> None:
    op.drop_table("backup_targets")
