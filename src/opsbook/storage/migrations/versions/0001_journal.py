"""The append-only audit journal.

Revision ID: 0001_journal
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.storage.base import BigId, UTCDateTime

revision = "0001_journal"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject_type", sa.String(50), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_entries"),
    )
    op.create_index("ix_journal_entries_at", "journal_entries", ["at"])
    op.create_index("ix_journal_entries_action", "journal_entries", ["action"])
    op.create_index("ix_journal_entries_subject", "journal_entries", ["subject_type", "subject_id"])
    _forbid_changes()


def _forbid_changes() -> None:
    """The journal is append-only: the store itself refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION opsbook_journal_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the journal is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries "
            "FOR EACH ROW EXECUTE FUNCTION opsbook_journal_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER journal_entries_no_{event.lower()} "
                f"BEFORE {event} ON journal_entries "
                "BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_entries_append_only ON journal_entries")
        op.execute("DROP FUNCTION IF EXISTS opsbook_journal_append_only()")
    op.drop_table("journal_entries")
