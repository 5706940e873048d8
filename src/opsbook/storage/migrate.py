"""Running the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from opsbook.storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x6F70_7362_6F6F_6B00 >> 1  # "opsbook", as a positive bigint


def alembic_config(db: Database) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "heads") -> list[str]:
    """Apply every pending migration; returns the revisions applied, oldest first."""
    before = pending_revisions(db)
    config = alembic_config(db)
    # Two processes starting at once must not both migrate: take the store's write lock first.
    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
    with engine.begin() as connection:
        if db.is_postgres:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    after = set(pending_revisions(db))
    return [rev for rev in before if rev not in after]


def current_revisions(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        return set(context.get_current_heads())


def head_revisions() -> set[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return set(script.get_heads())


def pending_revisions(db: Database) -> list[str]:
    """Revisions not yet applied to `db`, oldest first."""
    script = ScriptDirectory(str(MIGRATIONS))
    applied: set[str] = set()
    for rev in current_revisions(db):
        applied |= {r.revision for r in script.iterate_revisions(rev, "base")}
    return [rev for rev in _base_first() if rev not in applied]


def _base_first() -> list[str]:
    """Every revision, each after all of the revisions it depends on."""
    script = ScriptDirectory(str(MIGRATIONS))
    revisions = {r.revision: r for r in script.walk_revisions()}
    ordered: list[str] = []
    while len(ordered) < len(revisions):
        for name in sorted(set(revisions) - set(ordered)):
            rev = revisions[name]
            needs = set(rev._all_down_revisions) | set(rev._normalized_resolved_dependencies)
            if needs <= set(ordered):
                ordered.append(name)
    return ordered
