"""Verifications and restore tests started from the server, which take minutes: each runs in a
thread of the server process through the same functions as `opsbook backup verify` and
`opsbook backup restore-test`, recorded in the catalogue and journaled as the person who
asked. A task is what a client polls; it lives in this process only, while its outcome (the
backup's `verified`, the restore test row, the journal entry) is in the store for every node.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsbook.backups import service
from opsbook.backups.context import BackupContext, require_usable
from opsbook.backups.restore import restore_test
from opsbook.backups.schema import backup_json, restore_test_json
from opsbook.backups.verify import verify_backup
from opsbook.errors import ConflictError, NotFoundError, OpsbookError
from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

VERIFY, RESTORE_TEST = "verify", "restore-test"
KEPT = 200  # finished tasks remembered for polling, newest first


@dataclass
class BackupTask:
    id: int
    kind: str  # verify | restore-test
    backup_id: int
    actor: str
    started_at: datetime
    status: str = "running"  # running | succeeded | failed
    finished_at: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)  # the backup or the restore test
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "backup_id": self.backup_id,
            "actor": self.actor,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result or None,
            "error": self.error,
            "url": f"/api/v1/backups/tasks/{self.id}",
        }


class BackupTasks:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tasks: dict[int, BackupTask] = {}
        self._running: dict[int, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)

    def get(self, task_id: int) -> BackupTask:
        task = self.tasks.get(task_id)
        if task is None:
            raise NotFoundError(
                f"no backup task #{task_id} on this server (tasks are kept by the node that "
                "ran them until it restarts; the outcome is in GET /api/v1/backups/{id})"
            )
        return task

    async def start(self, kind: str, backup_id: int, actor: str) -> BackupTask:
        """Check the backup can be verified or restore-tested now, then start doing it."""
        await asyncio.to_thread(self._check, kind, backup_id)
        task = BackupTask(next(self._ids), kind, backup_id, actor, self.runtime.clock.now())
        self.tasks[task.id] = task
        self._forget_old()
        work = self._verify if kind == VERIFY else self._restore_test
        running = asyncio.create_task(self._run(task, work))
        self._running[task.id] = running
        running.add_done_callback(lambda _done: self._running.pop(task.id, None))
        return task

    def _check(self, kind: str, backup_id: int) -> None:
        # Only this node's own tasks count as under way: a restore test row left `running` by
        # a process that died would otherwise refuse every later test of the backup.
        with self.runtime.db.read() as session:
            require_usable(service.find(session, self.runtime.config, str(backup_id)), kind)
        busy = [t for t in self.tasks.values() if t.status == "running"]
        if any(t.kind == kind and t.backup_id == backup_id for t in busy):
            raise ConflictError(f"a {kind} of backup #{backup_id} is under way already")

    async def _run(self, task: BackupTask, work: Callable[[BackupTask], None]) -> None:
        try:
            await asyncio.to_thread(work, task)
        except OpsbookError as exc:
            task.status, task.error = "failed", str(exc)
        except Exception as exc:
            log.exception("backup %s of #%s failed unexpectedly", task.kind, task.backup_id)
            task.status, task.error = "failed", f"{type(exc).__name__}: see the server log"
        task.finished_at = self.runtime.clock.now()

    def _context(self, task: BackupTask) -> BackupContext:
        runtime = self.runtime
        return BackupContext(
            runtime.config,
            runtime.db,
            runtime.clock,
            runtime.node_id,
            actor=task.actor,
            redactor=runtime.redactor,
        )

    def _verify(self, task: BackupTask) -> None:
        backup = verify_backup(self._context(task), str(task.backup_id))
        task.result = backup_json(backup)
        task.status = "succeeded" if backup.verified else "failed"
        task.error = backup.verify_error

    def _restore_test(self, task: BackupTask) -> None:
        test = restore_test(self._context(task), str(task.backup_id))
        task.result = restore_test_json(test)
        task.status = "succeeded" if test.status == "passed" else "failed"
        task.error = test.error

    def _forget_old(self) -> None:
        done = [t.id for t in self.tasks.values() if t.status != "running"]
        for task_id in sorted(done)[: max(0, len(self.tasks) - KEPT)]:
            del self.tasks[task_id]

    async def wait_idle(self) -> None:
        """Wait until every task started here has ended."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
