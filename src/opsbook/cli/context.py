"""Opening the configuration and the store for a command."""

from __future__ import annotations

from pathlib import Path

from opsbook.config import Config, load_config
from opsbook.storage import Database
from opsbook.storage.migrate import pending_revisions, upgrade


def open_config(path: Path | None) -> Config:
    return load_config(path)


def open_database(config: Config, *, migrate: bool = True) -> Database:
    """The configured store, migrated to the newest schema unless `migrate` is off."""
    db = Database(config.database_url)
    if migrate and pending_revisions(db):
        upgrade(db)
    return db
