"""Alerts received from Alertmanager.

Revision ID: web_0002
Revises: web_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId, UTCDateTime

revision = "web_0002"
down_revision = "web_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("fingerprint", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(50), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("first_received_at", UTCDateTime(), nullable=False),
        sa.Column("last_received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_external_alerts"),
        sa.UniqueConstraint("source", "fingerprint", name="uq_external_alerts_source_fingerprint"),
    )
    op.create_index("ix_external_alerts_status", "external_alerts", ["status"])


def downgrade() -> None:
    op.drop_table("external_alerts")
