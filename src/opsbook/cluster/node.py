"""Making this process a node, before any worker starts (`opsbook watch`, `opsbook serve`).

- On SQLite, take the store's node lock: a second node on the same file refuses with a clear
  error instead of doubling every check, rule and job.
- On PostgreSQL, fence every session of this process: a transaction left idle longer than the
  lease (the process was paused: SIGSTOP, a long GC pause, a frozen VM) is ended by the server,
  its row locks released and its writes rolled back, so the other nodes can take over and the
  paused node cannot commit stale work when it wakes.
- Register the node row, refusing an id that a live process elsewhere already uses, so claims
  are never made under a name the others do not know.
"""

from __future__ import annotations

import logging
import os
import socket
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psutil
from sqlalchemy import Engine, event

from opsbook.cluster import service
from opsbook.cluster.tables import NodeRow
from opsbook.errors import ConflictError
from opsbook.storage import Database
from opsbook.storage.nodelock import NodeLock

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

_fenced: weakref.WeakSet[Engine] = weakref.WeakSet()


@contextmanager
def node_started(runtime: Runtime) -> Iterator[None]:
    """This process is node `runtime.node_id` for the block (see the module's docstring)."""
    lock = NodeLock(runtime.db, runtime.node_id)
    lock.acquire()
    try:
        lease = float(runtime.config.settings.cluster.lease)
        fence_sessions(runtime.db, lease)
        register(runtime, lease)
        yield
    finally:
        lock.release()


def fence_sessions(db: Database, idle_seconds: float) -> None:
    """End this process's PostgreSQL transactions that sit idle longer than `idle_seconds`."""
    if not db.is_postgres or db.engine in _fenced:
        return
    setting = f"-c idle_in_transaction_session_timeout={int(idle_seconds * 1000)}"

    @event.listens_for(db.engine, "do_connect")
    def _with_timeout(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["options"] = " ".join(filter(None, [cparams.get("options"), setting]))

    _fenced.add(db.engine)
    db.engine.dispose()  # connections opened before (migrations) are replaced by fenced ones


def register(runtime: Runtime, lease: float) -> None:
    """Register the node row; ConflictError when a live process elsewhere has this id."""
    now = runtime.clock.now()
    with runtime.db.write() as session:
        row = session.get(NodeRow, runtime.node_id, with_for_update=True)
        if row is not None and service.is_alive(row, now) and _another_process(row):
            raise ConflictError(
                f"node id {runtime.node_id!r} is in use by a live node ({row.host}, pid "
                f"{row.pid}, heartbeat {(now - row.heartbeat_at).total_seconds():.0f}s ago); "
                "give each node its own --node-id, or wait for that one to stop"
            )
        service.register(session, runtime.node_id, now, lease)
        freed = service.release_claims(session, runtime.node_id)
    log.info("node %s registered", runtime.node_id)
    if freed:
        log.info("node %s: %s check claims of its previous process freed", runtime.node_id, freed)


def _another_process(row: NodeRow) -> bool:
    """True when `row` names a process other than this one that may still run."""
    if (row.host, row.pid) == (socket.gethostname(), os.getpid()):
        return False
    return row.host != socket.gethostname() or psutil.pid_exists(row.pid)
