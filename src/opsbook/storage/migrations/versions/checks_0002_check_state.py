"""Check schedule and flap state, status changes and gaps.

Revision ID: checks_0002
Revises: checks_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId, UTCDateTime

revision = "checks_0002"
down_revision = "checks_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_state",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("spec_hash", sa.String(32), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("claim_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_since", UTCDateTime(), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("failures_in_row", sa.Integer(), nullable=False),
        sa.Column("successes_in_row", sa.Integer(), nullable=False),
        sa.Column("recent", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=True),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_latency_seconds", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_check_state"),
    )
    op.create_index("ix_check_state_next_due_at", "check_state", ["next_due_at"])
    op.create_table(
        "check_flips",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("check", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(12), nullable=False),
        sa.Column("to_status", sa.String(12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_check_flips"),
    )
    op.create_index("ix_check_flips_check_at", "check_flips", ["check", "at"])
    op.create_table(
        "check_gaps",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("check", sa.String(100), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_check_gaps"),
    )
    op.create_index("ix_check_gaps_check_start", "check_gaps", ["check", "start"])


def downgrade() -> None:
    op.drop_table("check_gaps")
    op.drop_table("check_flips")
    op.drop_index("ix_check_state_next_due_at", table_name="check_state")
    op.drop_table("check_state")
