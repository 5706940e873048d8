"""/schedules and /schedules/{name}: every job with its next and last run, one job's history,
and Run now for responders."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.scheduler.schema import jobs_json
from opsbook.web.api.jobs import history_json, launcher
from opsbook.web.operations import job_state, run_colour
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()


@router.get("/schedules", openapi_extra=needs(Role.VIEWER))
def schedules_page(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Every job: schedule, next run, last run and its status, last success, state."""
    with runtime.db.read() as session:
        items = jobs_json(session, runtime.config.settings.schedules, runtime.clock.now())
    rows = [_row(job) for job in items]
    can_run = principal.role.allows(Role.RESPONDER)
    return render(request, "schedules.html", principal, jobs=rows, can_run=can_run)


def _row(job: dict[str, Any]) -> dict[str, Any]:
    state, colour = job_state(job)
    last = job["last_run"]
    last_colour = run_colour(last["status"]) if last else "unknown"
    return {**job, "state": state, "colour": colour, "last_run_colour": last_colour}


@router.get("/schedules/{name}", openapi_extra=needs(Role.VIEWER))
def schedule_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    name: str,
    limit: int = Query(default=50, ge=1, le=500),
) -> Response:
    """One job: its schedule and state, and its runs with duration, exit status and output."""
    spec = launcher(request).spec(name)
    with runtime.db.read() as session:
        job = jobs_json(session, [spec], runtime.clock.now())[0]
    state, colour = job_state(job)
    runs = [
        dict(run, colour=run_colour(run["status"])) for run in history_json(runtime, name, limit)
    ]
    can_run = principal.role.allows(Role.RESPONDER)
    return render(
        request,
        "schedule.html",
        principal,
        job=job,
        state=state,
        colour=colour,
        runs=runs,
        can_run=can_run,
    )


@router.post("/schedules/{name}/run", openapi_extra=needs(Role.RESPONDER))
async def run_from_form(request: Request, principal: PrincipalDep, name: str) -> Response:
    """Run the job now (recorded as yours) and show its history."""
    await launcher(request).run_now(name, principal.actor)
    return RedirectResponse(f"/schedules/{name}", status_code=303)
