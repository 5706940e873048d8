"""Metric series, raw samples, one-minute rollups and the upkeep watermarks.

Revision ID: checks_0001
Revises: 0002_leases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId

revision = "checks_0001"
down_revision = "0002_leases"
branch_labels = ("checks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("labels_hash", sa.String(32), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_series"),
        sa.UniqueConstraint("name", "labels_hash", name="uq_metric_series_name_labels"),
    )
    op.create_table(
        "metric_samples",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "at_ms", name="pk_metric_samples"),
    )
    op.create_table(
        "metric_rollups",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("minute_ms", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("p95", sa.Float(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "minute_ms", name="pk_metric_rollups"),
    )
    op.create_table(
        "metric_watermarks",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("value_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_metric_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("metric_watermarks")
    op.drop_table("metric_rollups")
    op.drop_table("metric_samples")
    op.drop_table("metric_series")
