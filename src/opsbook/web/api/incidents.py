"""/api/v1/incidents: every action of the incident lifecycle, as `opsbook incident` offers it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from opsbook.accounts.model import Role
from opsbook.errors import UsageError
from opsbook.incidents import action_items, postmortem, timeline
from opsbook.incidents import runs as incident_runs
from opsbook.incidents import service as incidents
from opsbook.incidents.model import Status
from opsbook.incidents.schema import action_json, incident_detail, incident_summary
from opsbook.incidents.service import IncidentContext
from opsbook.runtime import Runtime
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.runbooks import RunbookCatalog
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["incidents"])


class NewIncident(BaseModel):
    title: str = Field(min_length=1)
    severity: str = Field(description="A level of the severity policy, e.g. P1.")
    impact: str = ""
    commander: str | None = Field(default=None, description="The commander; by default you.")
    components: list[str] = Field(default_factory=list)
    runbook: str = Field(
        default="", description="The runbook link, e.g. runbooks/db.md#connections."
    )
    public: bool = Field(default=False, description="Shown on the public status page.")


class Update(BaseModel):
    message: str = Field(min_length=1)
    status: Status | None = Field(
        default=None, description="A new open status; resolve and close have their own actions."
    )
    impact: str | None = Field(default=None, description="The impact as it is now.")
    eta: str | None = Field(default=None, description="The resolution estimate, as written.")
    public: bool = Field(default=False, description="Also shown on the public status page.")


def context(request: Request, runtime: Runtime) -> IncidentContext:
    return IncidentContext.from_config(
        runtime.config, runtime.clock, base_url=str(request.base_url).rstrip("/")
    )


def detail(runtime: Runtime, ctx: IncidentContext, incident_id: int) -> dict[str, Any]:
    with runtime.db.read() as session:
        row = incidents.get(session, incident_id)
        return incident_detail(
            row,
            ctx.policy,
            runtime.clock.now(),
            events=list(timeline.events(session, incident_id)),
            links=list(timeline.links(session, incident_id)),
            actions=list(action_items.listed(session, incident_id)),
        )


@router.get("/incidents", openapi_extra=needs(Role.VIEWER))
def list_open(
    request: Request, runtime: RuntimeDep, open_only: bool = True
) -> list[dict[str, Any]]:
    """Incidents, newest first (open ones by default)."""
    ctx = context(request, runtime)
    with runtime.db.read() as session:
        rows = incidents.list_incidents(session, open_only=open_only)
        return [incident_summary(r, ctx.policy, runtime.clock.now()) for r in rows]


@router.post("/incidents", status_code=201, openapi_extra=needs(Role.RESPONDER))
def open_incident(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, body: NewIncident
) -> dict[str, Any]:
    """Open an incident with a severity from the policy; you are its commander."""
    ctx = context(request, runtime)
    with runtime.db.write() as session:
        row = incidents.open_incident(
            session,
            ctx,
            title=body.title,
            severity=body.severity,
            actor=principal.actor,
            impact=body.impact,
            commander=body.commander or principal.actor,
            components=body.components,
            runbook=body.runbook,
            public=body.public,
        )
        incident_id = row.id
    return detail(runtime, ctx, incident_id)


@router.get("/incidents/{incident_id}", openapi_extra=needs(Role.VIEWER))
def get_incident(request: Request, runtime: RuntimeDep, incident_id: int) -> dict[str, Any]:
    """One incident with its timeline, linked alerts and runs, and action items."""
    return detail(runtime, context(request, runtime), incident_id)


@router.post("/incidents/{incident_id}/updates", openapi_extra=needs(Role.RESPONDER))
def post_update(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int, body: Update
) -> dict[str, Any]:
    """Post an update (sent to the incident's channels), optionally changing the status."""
    ctx = context(request, runtime)
    with runtime.db.write() as session:
        incidents.post_update(
            session,
            ctx,
            incident_id,
            actor=principal.actor,
            message=body.message,
            status=body.status,
            impact=body.impact,
            eta=body.eta,
            public=body.public,
        )
    return detail(runtime, ctx, incident_id)


class Assign(BaseModel):
    commander: str = Field(min_length=1, description="The new incident commander.")


class Severity(BaseModel):
    severity: str = Field(min_length=1, description="A level of the severity policy, e.g. P2.")


class Resolve(BaseModel):
    root_cause: str = ""
    resolution: str = Field(default="", description="What fixed it.")
    message: str = Field(default="", description="A note for the timeline.")


class Note(BaseModel):
    text: str = Field(min_length=1)


class NewActionItem(BaseModel):
    text: str = Field(min_length=1)
    owner: str = ""
    due: datetime | None = None


class ActionItemChange(BaseModel):
    status: str | None = Field(default=None, description="open, done or dropped.")
    owner: str | None = None
    due: datetime | None = None


class IncidentRun(BaseModel):
    runbook: str | None = Field(
        default=None,
        description="The runbook's id (see GET /api/v1/runbooks); with `procedure` left out "
        "too, the procedure the incident's runbook link names.",
    )
    procedure: str | None = Field(
        default=None, description="A procedure's title or slug, or `Procedure/Part`."
    )
    steps: str | None = Field(default=None, description="Only these steps: `2-5`, `1,3`.")
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values for the run, passed to steps as environment."
    )
    yes: bool = Field(default=False, description="Confirm gated steps in advance.")


def change(
    request: Request,
    runtime: Runtime,
    incident_id: int,
    act: Callable[[Session, IncidentContext], object],
) -> dict[str, Any]:
    """Apply one action in a write transaction and answer with the incident as it is now."""
    ctx = context(request, runtime)
    with runtime.db.write() as session:
        act(session, ctx)
    return detail(runtime, ctx, incident_id)


@router.post("/incidents/{incident_id}/ack", openapi_extra=needs(Role.RESPONDER))
def acknowledge(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> dict[str, Any]:
    """Acknowledge: you are on it. Stops the escalation ladder (409 if already acknowledged)."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.acknowledge(s, ctx, incident_id, actor=principal.actor),
    )


@router.post("/incidents/{incident_id}/assign", openapi_extra=needs(Role.RESPONDER))
def assign(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int, body: Assign
) -> dict[str, Any]:
    """Make someone the incident commander."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.assign(
            s, ctx, incident_id, commander=body.commander, actor=principal.actor
        ),
    )


@router.post("/incidents/{incident_id}/severity", openapi_extra=needs(Role.RESPONDER))
def set_severity(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    body: Severity,
) -> dict[str, Any]:
    """Change the severity; the update cadence follows the new level."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.set_severity(
            s, ctx, incident_id, severity=body.severity, actor=principal.actor
        ),
    )


@router.post("/incidents/{incident_id}/resolve", openapi_extra=needs(Role.RESPONDER))
def resolve(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int, body: Resolve
) -> dict[str, Any]:
    """Resolve: stops escalation and reminders and sends the resolution message."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.resolve(
            s,
            ctx,
            incident_id,
            actor=principal.actor,
            root_cause=body.root_cause,
            resolution=body.resolution,
            message=body.message,
        ),
    )


@router.post("/incidents/{incident_id}/close", openapi_extra=needs(Role.RESPONDER))
def close(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> dict[str, Any]:
    """Close a resolved incident (409 while it is not resolved)."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.close(s, ctx, incident_id, actor=principal.actor),
    )


@router.post("/incidents/{incident_id}/notes", openapi_extra=needs(Role.RESPONDER))
def add_note(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int, body: Note
) -> dict[str, Any]:
    """Add a note to the timeline; it is sent to nobody."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.add_note(
            s, ctx, incident_id, actor=principal.actor, text=body.text
        ),
    )


@router.post(
    "/incidents/{incident_id}/action-items", status_code=201, openapi_extra=needs(Role.RESPONDER)
)
def add_action_item(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    body: NewActionItem,
) -> dict[str, Any]:
    """Add a follow-up action item (owner and due date optional)."""
    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: action_items.add(
            s,
            ctx,
            incident_id,
            actor=principal.actor,
            text=body.text,
            owner=body.owner,
            due=body.due,
        ),
    )


@router.patch(
    "/incidents/{incident_id}/action-items/{item_id}", openapi_extra=needs(Role.RESPONDER)
)
def change_action_item(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    item_id: int,
    body: ActionItemChange,
) -> dict[str, Any]:
    """Mark an action item done or dropped, or change its owner or due date."""

    return change(
        request,
        runtime,
        incident_id,
        lambda s, ctx: action_items.update(
            s,
            ctx,
            item_id,
            actor=principal.actor,
            incident_id=incident_id,
            status=body.status,
            owner=body.owner,
            due=body.due,
        ),
    )


@router.get("/incidents/{incident_id}/action-items", openapi_extra=needs(Role.VIEWER))
def list_action_items(runtime: RuntimeDep, incident_id: int) -> dict[str, Any]:
    """The incident's action items, oldest first (the shape of `opsbook incident action list
    --json`)."""
    with runtime.db.read() as session:
        incidents.get(session, incident_id)
        items = [action_json(item) for item in action_items.listed(session, incident_id)]
    return {"action_items": items}


def postmortem_markdown(runtime: Runtime, ctx: IncidentContext, incident_id: int) -> str:
    with runtime.db.read() as session:
        return postmortem.draft(
            incidents.get(session, incident_id),
            ctx.policy,
            runtime.clock.now(),
            events=timeline.events(session, incident_id),
            links=timeline.links(session, incident_id),
            actions=action_items.listed(session, incident_id),
            runs=incident_runs.summaries(session, incident_id),
        )


@router.get("/incidents/{incident_id}/postmortem", openapi_extra=needs(Role.VIEWER))
def get_postmortem(
    request: Request,
    runtime: RuntimeDep,
    incident_id: int,
    format: str = Query(default="json", pattern="^(json|markdown)$"),
) -> Response:
    """The post-mortem draft in Markdown: summary, impact, times, timeline, alerts, runs,
    messages, cause and action items. `?format=markdown` answers the text itself."""
    text = postmortem_markdown(runtime, context(request, runtime), incident_id)
    if format == "markdown":
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
    return JSONResponse({"incident_id": incident_id, "markdown": text})


@router.post("/incidents/{incident_id}/runs", status_code=201, openapi_extra=needs(Role.RESPONDER))
async def run_for_incident(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    body: IncidentRun,
) -> dict[str, Any]:
    """Run a procedure for the incident (by default the one its runbook link names): the run is
    linked to it, each step's result goes on its timeline, and so does how the run ended."""
    ctx = context(request, runtime)

    def known() -> str:
        with runtime.db.read() as session:
            link = incidents.get(session, incident_id).runbook
        if body.runbook is None and body.procedure is None and not link:
            raise UsageError(
                f"incident {incident_id} has no runbook link: name the runbook and procedure"
            )
        return link

    link = await run_in_threadpool(known)
    cat: RunbookCatalog = request.app.state.runbooks
    if body.runbook is None and body.procedure is None:
        item, procedure = await run_in_threadpool(cat.find_link, link)
    elif body.runbook is None or body.procedure is None:
        raise UsageError("name both the runbook and the procedure, or neither for the linked one")
    else:
        item, procedure = await run_in_threadpool(cat.find, body.runbook), body.procedure
    book = await run_in_threadpool(cat.parse, item)
    runs = request.app.state.runs
    wanted = runs.request(
        book,
        procedure,
        steps=body.steps,
        variables=body.variables,
        operator=principal.actor,
        yes=body.yes,
    )
    run_id = await runs.start(wanted, incident=incident_id, ctx=ctx)
    return {"run_id": run_id, "url": f"/runs/{run_id}", "incident_id": incident_id}
