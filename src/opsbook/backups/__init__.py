"""Backups of PostgreSQL, SQLite and file trees, verified and proven by restoring them."""
