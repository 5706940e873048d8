"""/api/v1/backups: targets against their RPO, the catalogue, and verify or restore-test a
backup in the background.

Backups have the shape of `opsbook backup list --json` (docs/backups.md). Verifying and
restore-testing take minutes, so they answer 202 with a task to poll at
`/api/v1/backups/tasks/{id}`; the outcome also lands on the backup itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request

from opsbook.accounts.model import Role
from opsbook.backups import service
from opsbook.backups.overview import target_json, target_overviews
from opsbook.backups.schema import backup_json, backups_json
from opsbook.backups.tables import Backup
from opsbook.errors import NotFoundError
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.backup_tasks import RESTORE_TEST, VERIFY, BackupTasks
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["backups"])


def tasks(request: Request) -> BackupTasks:
    found: BackupTasks = request.app.state.backup_tasks
    return found


@router.get("/backups", openapi_extra=needs(Role.VIEWER))
def list_backups(
    runtime: RuntimeDep,
    target: str | None = Query(default=None, description="Only this target's backups."),
    include_pruned: bool = Query(
        default=False, alias="all", description="Include backups pruned by retention."
    ),
) -> dict[str, Any]:
    """Backups newest first: status, size, checksum, verification and the last restore test
    (`restore_seconds`), as `opsbook backup list --json`."""
    if target is not None:
        service.target_config(runtime.config, target)
    with runtime.db.read() as session:
        return {"backups": backups_json(session, target, include_pruned=include_pruned)}


@router.get("/backups/targets", openapi_extra=needs(Role.VIEWER))
def list_targets(runtime: RuntimeDep) -> dict[str, Any]:
    """Every backup target: its newest good backup's age against the RPO, whether the last
    attempt or restore test failed, and the last restore time against the RTO."""
    with runtime.db.read() as session:
        found = target_overviews(session, runtime.config, runtime.clock.now())
        return {"targets": [target_json(item) for item in found]}


@router.get("/backups/tasks/{task_id}", openapi_extra=needs(Role.VIEWER))
def get_task(request: Request, task_id: int) -> dict[str, Any]:
    """A verification or restore test started here: `running`, then `succeeded` or `failed`
    with the backup (verify) or the restore test as `result`."""
    return {"task": tasks(request).get(task_id).as_json()}


@router.get("/backups/{backup_id}", openapi_extra=needs(Role.VIEWER))
def get_backup(runtime: RuntimeDep, backup_id: int) -> dict[str, Any]:
    """One backup with its last restore test."""
    with runtime.db.read() as session:
        backup = session.get(Backup, backup_id)
        if backup is None:
            raise NotFoundError(f"no backup #{backup_id}")
        test = service.last_restore_tests(session, [backup_id]).get(backup_id)
        return {"backup": backup_json(backup, test)}


@router.post("/backups/{backup_id}/verify", status_code=202, openapi_extra=needs(Role.ADMIN))
async def verify(request: Request, principal: PrincipalDep, backup_id: int) -> dict[str, Any]:
    """Check the backup's checksum and read it back, in the background; 409 when it is not a
    good backup (failed, pruned) or is being verified already."""
    task = await tasks(request).start(VERIFY, backup_id, principal.actor)
    return {"task": task.as_json()}


@router.post("/backups/{backup_id}/restore-test", status_code=202, openapi_extra=needs(Role.ADMIN))
async def restore_test(request: Request, principal: PrincipalDep, backup_id: int) -> dict[str, Any]:
    """Restore the backup into scratch, compare row counts, run the smoke queries and time it
    against the RTO, in the background; 409 when it is not a good backup or is being tested."""
    task = await tasks(request).start(RESTORE_TEST, backup_id, principal.actor)
    return {"task": task.as_json()}
