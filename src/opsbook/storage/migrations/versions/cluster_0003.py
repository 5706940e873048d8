"""Runs' sealed shell state, for resuming a run on another node.

Revision ID: cluster_0003
Revises: cluster_0002, execution_0001 (its rows belong to runs)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId, UTCDateTime

revision = "cluster_0003"
down_revision = ("cluster_0002", "execution_0001")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_state",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=True),
        sa.Column("inputs", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_state_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_state")),
    )


def downgrade() -> None:
    op.drop_table("run_state")
