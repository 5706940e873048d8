"""One long-running opsbook node per SQLite store.

SQLite is the single-node store: two `opsbook serve` processes on one SQLite file would both run
every check, rule and job. The first node takes an exclusive lock on a file beside the database;
a second one refuses with a clear error instead of doubling work. (On PostgreSQL, nodes
coordinate through the store instead; see `opsbook.cluster`.)
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import make_url

from opsbook.errors import ConflictError
from opsbook.storage.db import Database


class NodeLock:
    def __init__(self, db: Database, node_id: str) -> None:
        self.node_id = node_id
        self.database = make_url(db.url).database or ""
        local = db.is_sqlite and self.database not in ("", ":memory:")
        self.path = Path(f"{self.database}.node.lock") if local else None
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ConflictError naming the node that holds it."""
        if self.path is None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ConflictError(
                f"another opsbook node ({holder}) is already running on the SQLite store "
                f"{self.database}; a SQLite store serves one node. "
                "Stop it, or run several nodes on PostgreSQL (OPSBOOK_DATABASE_URL)."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"node": self.node_id, "pid": os.getpid()}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> NodeLock:
        self.acquire()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"node {data.get('node', '?')}, pid {data.get('pid', '?')}"
    except (OSError, ValueError):
        return "unknown node"
