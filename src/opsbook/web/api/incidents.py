"""/api/v1/incidents: open an incident, post updates, change its status, read its timeline."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from opsbook.accounts.model import Role
from opsbook.incidents import service as incidents
from opsbook.incidents.model import Status
from opsbook.incidents.schema import incident_detail, incident_summary
from opsbook.incidents.service import IncidentContext
from opsbook.runtime import Runtime
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["incidents"])


class NewIncident(BaseModel):
    title: str = Field(min_length=1)
    severity: str = Field(description="A level of the severity policy, e.g. P1.")
    impact: str = ""
    components: list[str] = Field(default_factory=list)
    public: bool = Field(default=False, description="Shown on the public status page.")


class Update(BaseModel):
    message: str = Field(min_length=1)
    status: Status | None = None
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
            events=list(incidents.timeline(session, incident_id)),
            links=list(incidents.links(session, incident_id)),
            actions=list(incidents.action_items(session, incident_id)),
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
            components=body.components,
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
            public=body.public,
        )
    return detail(runtime, ctx, incident_id)
