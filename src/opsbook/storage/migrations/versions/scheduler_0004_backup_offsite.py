"""Backups: the state of each backup's off-site copy.

Revision ID: scheduler_0004
Revises: scheduler_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import UTCDateTime

revision = "scheduler_0004"
down_revision = "scheduler_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("offsite_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("offsite_location", sa.Text(), nullable=True))
        batch.add_column(sa.Column("offsite_verified_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("offsite_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("offsite_error", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        for name in (
            "offsite_error",
            "offsite_attempts",
            "offsite_verified_at",
            "offsite_location",
            "offsite_status",
        ):
            batch.drop_column(name)
