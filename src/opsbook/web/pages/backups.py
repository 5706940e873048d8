"""/backups: each target's newest good backup against its RPO, the backups with their
verification and restore tests against the RTO, and Verify / Restore test for admins."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.backups.overview import TargetOverview, target_json, target_overviews
from opsbook.backups.schema import backups_json
from opsbook.web.api.backups import tasks
from opsbook.web.backup_tasks import RESTORE_TEST, VERIFY
from opsbook.web.operations import rto_colour, target_state
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()
SHOWN = 100  # newest backups on the page
TASK_COLOUR = {"running": "running", "succeeded": "green", "failed": "red"}


def target_row(item: TargetOverview) -> dict[str, Any]:
    state, colour = target_state(item)
    return {
        **target_json(item),
        "state": state,
        "colour": colour,
        "rto_colour": rto_colour(item.within_rto),
    }


def backup_row(backup: dict[str, Any]) -> dict[str, Any]:
    test = backup["last_restore_test"]
    verified = {True: ("verified", "green"), False: ("failed", "red"), None: ("not yet", "unknown")}
    tested = ("never", "unknown")
    if test is not None:
        tested = (test["status"], "green" if test["status"] == "passed" else "red")
    return {
        **backup,
        "colour": "red" if backup["status"] == "failed" else "green",
        "verified_state": verified[backup["verified"]],
        "tested_state": tested,
        "rto_colour": rto_colour(test["within_rto"] if test else None),
        "usable": backup["status"] == "ok" and backup["pruned_at"] is None,
    }


@router.get("/backups", openapi_extra=needs(Role.VIEWER))
def backups_page(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Targets against their RPO, then the newest backups with verification and restore tests."""
    with runtime.db.read() as session:
        targets = target_overviews(session, runtime.config, runtime.clock.now())
        backups = backups_json(session)[:SHOWN]
    started = sorted(tasks(request).tasks.values(), key=lambda t: t.id, reverse=True)[:10]
    return render(
        request,
        "backups.html",
        principal,
        targets=[target_row(t) for t in targets],
        backups=[backup_row(b) for b in backups],
        tasks=[dict(t.as_json(), colour=TASK_COLOUR[t.status]) for t in started],
        can_act=principal.role.allows(Role.ADMIN),
    )


@router.post("/backups/{backup_id}/verify", openapi_extra=needs(Role.ADMIN))
async def verify_from_form(request: Request, principal: PrincipalDep, backup_id: int) -> Response:
    """Verify the backup in the background (recorded as yours)."""
    await tasks(request).start(VERIFY, backup_id, principal.actor)
    return RedirectResponse("/backups#tasks", status_code=303)


@router.post("/backups/{backup_id}/restore-test", openapi_extra=needs(Role.ADMIN))
async def restore_test_from_form(
    request: Request, principal: PrincipalDep, backup_id: int
) -> Response:
    """Restore-test the backup in the background (recorded as yours)."""
    await tasks(request).start(RESTORE_TEST, backup_id, principal.actor)
    return RedirectResponse("/backups#tasks", status_code=303)
