"""/api/v1/runs: start a procedure, follow its output live, confirm a waiting step, cancel.

`GET /api/v1/runs/{id}/events` is a server-sent event stream: `output` events carry each piece
of output as it is stored (`{"id", "step", "attempt", "text"}`), `status` events the run's and
its steps' statuses whenever they change, and a final `end` event when the run is no longer
running. Reconnecting with `Last-Event-ID` (or `?after=`) continues after the last output seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Header, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from opsbook.accounts.model import Principal, Role
from opsbook.execution import service
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.api.incidents import context as incident_context
from opsbook.web.api.runbooks import catalog
from opsbook.web.runs import RunLauncher
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["runs"])
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


class StartRun(BaseModel):
    runbook: str = Field(description="The runbook's id (see GET /api/v1/runbooks).")
    procedure: str = Field(description="A procedure's title or slug, or `Procedure/Part`.")
    steps: str | None = Field(default=None, description="Only these steps: `2-5`, `1,3`.")
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values for the run, passed to steps as environment."
    )
    yes: bool = Field(
        default=False, description="Confirm every step that needs confirmation in advance."
    )


class Started(BaseModel):
    run_id: int
    url: str


def launcher(request: Request) -> RunLauncher:
    found: RunLauncher = request.app.state.runs
    return found


async def start_run(request: Request, body: StartRun, principal: Principal) -> int:
    cat = catalog(request)
    book = await run_in_threadpool(lambda: cat.parse(cat.find(body.runbook)))
    runs = launcher(request)
    wanted = runs.request(
        book,
        body.procedure,
        steps=body.steps,
        variables=body.variables,
        operator=principal.actor,
        yes=body.yes,
    )
    return await runs.start(wanted)


@router.post("/runs", status_code=201, openapi_extra=needs(Role.RESPONDER))
async def create_run(request: Request, principal: PrincipalDep, body: StartRun) -> Started:
    """Start a procedure of a configured runbook. A failed preflight answers 400 listing what
    is missing; the run goes on in the server after this answers."""
    run_id = await start_run(request, body, principal)
    return Started(run_id=run_id, url=f"/runs/{run_id}")


@router.get("/runs", openapi_extra=needs(Role.VIEWER))
def list_runs(
    runtime: RuntimeDep,
    status: str | None = Query(default=None, pattern="^(running|ok|failed|waiting|interrupted)$"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[dict[str, Any]]:
    """Runs, newest first (the shape of `opsbook runs list --json`)."""
    with runtime.db.read() as session:
        return service.list_runs(session, limit=limit, status=status)


@router.get("/runs/{run_id}", openapi_extra=needs(Role.VIEWER))
def get_run(runtime: RuntimeDep, run_id: int) -> dict[str, Any]:
    """One run with its steps and their output (the shape of `opsbook runs show --json`)."""
    with runtime.db.read() as session:
        return service.get(session, run_id)


async def confirm_and_resume(request: Request, run_id: int, number: int, actor: str) -> None:
    runtime = request.app.state.runtime

    def confirm() -> None:
        with runtime.db.write() as session:
            service.confirm(session, runtime.clock, run_id, number, actor=actor)

    await run_in_threadpool(confirm)
    await launcher(request).resume(run_id, operator=actor, ctx=incident_context(request, runtime))


@router.post("/runs/{run_id}/steps/{number}/confirm", openapi_extra=needs(Role.RESPONDER))
async def confirm_step(
    request: Request, principal: PrincipalDep, run_id: int, number: int
) -> Started:
    """Confirm the waiting step `number` (recorded as confirmed by you) and resume the run."""
    await confirm_and_resume(request, run_id, number, principal.actor)
    return Started(run_id=run_id, url=f"/runs/{run_id}")


@router.post("/runs/{run_id}/cancel", openapi_extra=needs(Role.RESPONDER))
def cancel_run(runtime: RuntimeDep, principal: PrincipalDep, run_id: int) -> Started:
    """Stop a running run; its runner ends the step within a heartbeat."""
    with runtime.db.write() as session:
        service.cancel(session, runtime.clock, run_id, actor=principal.actor)
    return Started(run_id=run_id, url=f"/runs/{run_id}")


def _state(runtime: Any, run_id: int, after: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with runtime.db.read() as session:
        run = service.get(session, run_id, output=False)
        return run, service.output_since(session, run_id, after)


def _event(kind: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"


async def follow(request: Request, run_id: int, after: int) -> AsyncIterator[str]:
    """Output and status changes of a run until it stops running (or the server stops)."""
    runtime = request.app.state.runtime
    stopping: asyncio.Event = request.app.state.stopping
    last_status: Any = None
    idle = 0.0
    while True:
        run, pieces = await run_in_threadpool(_state, runtime, run_id, after)
        for piece in pieces:
            after = piece["id"]
            yield _event("output", piece, after)
        status = {
            "status": run["status"],
            "stop_reason": run["stop_reason"],
            "steps": [{"number": s["number"], "status": s["status"]} for s in run["steps"]],
        }
        if status != last_status:
            last_status = status
            yield _event("status", status)
        if run["status"] != "running" and not pieces:
            yield _event("end", {"status": run["status"]})
            return
        if stopping.is_set() or await request.is_disconnected():
            return
        idle = 0.0 if pieces else idle + POLL_SECONDS
        if idle >= KEEPALIVE_SECONDS:
            idle = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


@router.get(
    "/runs/{run_id}/events",
    openapi_extra=needs(Role.VIEWER),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def run_events(
    request: Request,
    runtime: RuntimeDep,
    run_id: int,
    after: int = Query(default=0, ge=0, description="Output id to continue after."),
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """The run's output and status as server-sent events, live."""
    await run_in_threadpool(_state, runtime, run_id, 0)  # 404 before the stream starts
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    return StreamingResponse(
        follow(request, run_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
