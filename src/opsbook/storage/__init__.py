"""The store: engine and sessions, base types, coordination and migrations."""

from opsbook.storage.db import Database, normalize_url

__all__ = ["Database", "normalize_url"]
