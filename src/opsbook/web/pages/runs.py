"""/runs and /runs/{id}: runs with their live output, and the forms that start, confirm and
cancel them (each carrying the session's CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.execution import service
from opsbook.web.api.runs import StartRun, confirm_and_resume, start_run
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()


@router.get("/runs", openapi_extra=needs(Role.VIEWER))
def runs_page(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Recent runs, newest first."""
    with runtime.db.read() as session:
        runs = service.list_runs(session, limit=100)
    return render(request, "runs.html", principal, runs=runs)


@router.get("/runs/{run_id}", openapi_extra=needs(Role.VIEWER))
def run_page(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, run_id: int
) -> Response:
    """One run: each step with its output (live while it runs) and a confirm button for a
    step that waits."""
    with runtime.db.read() as session:
        run = service.get(session, run_id)
        after = max((p["id"] for p in service.output_since(session, run_id, 0, 100_000)), default=0)
    can_act = principal.role.allows(Role.RESPONDER)
    return render(request, "run.html", principal, run=run, after=after, can_act=can_act)


@router.post("/runs", openapi_extra=needs(Role.RESPONDER))
async def start_from_form(
    request: Request,
    principal: PrincipalDep,
    runbook: Annotated[str, Form()],
    procedure: Annotated[str, Form()],
    steps: Annotated[str, Form()] = "",
) -> Response:
    """Start a procedure from its runbook page."""
    body = StartRun(runbook=runbook, procedure=procedure, steps=steps or None)
    run_id = await start_run(request, body, principal)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/steps/{number}/confirm", openapi_extra=needs(Role.RESPONDER))
async def confirm_from_form(
    request: Request, principal: PrincipalDep, run_id: int, number: int
) -> Response:
    """Confirm a waiting step and go on with the run."""
    await confirm_and_resume(request, run_id, number, principal.actor)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/cancel", openapi_extra=needs(Role.RESPONDER))
async def cancel_from_form(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, run_id: int
) -> Response:
    """Stop a running run."""

    def cancel() -> None:
        with runtime.db.write() as session:
            service.cancel(session, runtime.clock, run_id, actor=principal.actor)

    await run_in_threadpool(cancel)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
