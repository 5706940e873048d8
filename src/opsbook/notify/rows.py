"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike, in the caller's transaction.

A conflicting row is skipped by the database itself, so the caller's transaction is never
aborted by a duplicate (as a failed plain INSERT would abort it on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsbook.storage.base import Base


def _insert(session: Session, table: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no conflict-free insert for {dialect}")


def insert_ignoring_conflicts(
    session: Session,
    table: type[Base],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: Any = None,
) -> list[Any]:
    """Insert `rows`, skipping those that clash on `conflict_columns`; the `returning` values."""
    if not rows:
        return []
    statement = _insert(session, table).values(list(rows))
    statement = statement.on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning is None:
        session.execute(statement)
        return []
    assert isinstance(statement, Insert)
    return list(session.scalars(statement.returning(returning)))
