"""Several opsbook nodes on one PostgreSQL: membership, heartbeats and leadership."""
