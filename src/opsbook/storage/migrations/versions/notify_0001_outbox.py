"""The notification outbox and each destination's delivery health.

Revision ID: notify_0001
Revises: 0002_leases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId, UTCDateTime

revision = "notify_0001"
down_revision = "0002_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("destination_display", sa.Text(), nullable=False),
        sa.Column("transport", sa.String(20), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("occurrence", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(50), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("claim_token", sa.Integer(), nullable=False),
        sa.Column("claim_expires_at", UTCDateTime(), nullable=True),
        sa.Column("after_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_outbox"),
        sa.UniqueConstraint(
            "dedup_key",
            "event",
            "occurrence",
            "channel",
            "destination",
            name="uq_notify_outbox_dedup_key",
        ),
    )
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["state", "next_attempt_at"])
    op.create_index(
        "ix_notify_outbox_channel_attempt", "notify_outbox", ["channel", "last_attempt_at"]
    )
    op.create_table(
        "notify_destinations",
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("display", sa.Text(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel", "destination", name="pk_notify_destinations"),
    )


def downgrade() -> None:
    op.drop_table("notify_destinations")
    op.drop_index("ix_notify_outbox_channel_attempt", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.drop_table("notify_outbox")
