"""Checks bound to a machine, and the node that ran each check last.

Revision ID: cluster_0002
Revises: cluster_0001, checks_0002 (it alters the checks' table, so it comes after it)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cluster_0002"
down_revision = ("cluster_0001", "checks_0002")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("last_node", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.drop_column("last_node")
        batch_op.drop_column("host")
