"""Leases with fencing tokens, for coordination between processes.

Revision ID: 0002_leases
Revises: 0001_journal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import UTCDateTime

revision = "0002_leases"
down_revision = "0001_journal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
