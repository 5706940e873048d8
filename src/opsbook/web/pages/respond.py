"""/alerts and /incidents: acknowledge and silence alerts; open, follow and update incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.alerts import queries, silences
from opsbook.alerts.schema import alert_json, silence_json
from opsbook.errors import UsageError
from opsbook.incidents import service as incidents
from opsbook.incidents.model import Status
from opsbook.incidents.schema import incident_summary
from opsbook.units import parse_duration
from opsbook.web.api.incidents import context, detail
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()


@router.get("/alerts", openapi_extra=needs(Role.VIEWER))
def alerts_page(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Open alerts with acknowledge and silence forms, the silences in force, recent history."""
    now = runtime.clock.now()
    with runtime.db.read() as session:
        open_alerts = [alert_json(r, None) for r in queries.current(session)]
        resolved = [alert_json(r, None) for r in queries.current(session, states=("resolved",))]
        in_force = [silence_json(s, now) for s in silences.listed(session, now)]
    can_act = principal.role.allows(Role.RESPONDER)
    return render(
        request,
        "alerts.html",
        principal,
        alerts=open_alerts,
        resolved=resolved[:30],
        silences=in_force,
        can_act=can_act,
    )


@router.post("/alerts/{ref}/ack", openapi_extra=needs(Role.RESPONDER))
def ack_from_form(
    runtime: RuntimeDep, principal: PrincipalDep, ref: str, comment: Annotated[str, Form()] = ""
) -> Response:
    """Acknowledge an alert."""
    with runtime.db.write() as session:
        queries.acknowledge(session, runtime.clock, ref, actor=principal.actor, comment=comment)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/silences", openapi_extra=needs(Role.RESPONDER))
def silence_from_form(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    matchers: Annotated[str, Form()],
    duration: Annotated[str, Form()],
    comment: Annotated[str, Form()],
) -> Response:
    """Silence the alerts the matchers select (one matcher per line or comma)."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(f"duration: {exc}") from None
    parts = [m.strip() for m in matchers.replace("\n", ",").split(",") if m.strip()]
    with runtime.db.write() as session:
        silences.create(
            session,
            runtime.clock,
            matchers=parts,
            duration=seconds,
            author=principal.actor,
            comment=comment,
        )
    return RedirectResponse("/alerts", status_code=303)


@router.post("/silences/{silence_id}/lift", openapi_extra=needs(Role.RESPONDER))
def lift_from_form(runtime: RuntimeDep, principal: PrincipalDep, silence_id: int) -> Response:
    """End a silence now."""
    with runtime.db.write() as session:
        silences.lift(session, runtime.clock, silence_id, actor=principal.actor)
    return RedirectResponse("/alerts", status_code=303)


@router.get("/incidents", openapi_extra=needs(Role.VIEWER))
def incidents_page(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Incidents, newest first, and the form to open one."""
    ctx = context(request, runtime)
    with runtime.db.read() as session:
        rows = incidents.list_incidents(session, limit=100)
        listed = [incident_summary(r, ctx.policy, runtime.clock.now()) for r in rows]
    levels = ctx.policy.levels
    can_act = principal.role.allows(Role.RESPONDER)
    return render(
        request, "incidents.html", principal, incidents=listed, levels=levels, can_act=can_act
    )


@router.post("/incidents", openapi_extra=needs(Role.RESPONDER))
def open_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    title: Annotated[str, Form()],
    severity: Annotated[str, Form()],
    impact: Annotated[str, Form()] = "",
    public: Annotated[bool, Form()] = False,
) -> Response:
    """Open an incident."""
    ctx = context(request, runtime)
    with runtime.db.write() as session:
        row = incidents.open_incident(
            session,
            ctx,
            title=title,
            severity=severity,
            actor=principal.actor,
            impact=impact,
            public=public,
        )
        incident_id = row.id
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/incidents/{incident_id}", openapi_extra=needs(Role.VIEWER))
def incident_page(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> Response:
    """One incident: its state, timeline and the update form."""
    found = detail(runtime, context(request, runtime), incident_id)
    can_act = principal.role.allows(Role.RESPONDER)
    return render(
        request,
        "incident.html",
        principal,
        incident=found,
        statuses=[s.value for s in Status],
        can_act=can_act,
    )


@router.post("/incidents/{incident_id}/updates", openapi_extra=needs(Role.RESPONDER))
def update_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    message: Annotated[str, Form()],
    status: Annotated[str, Form()] = "",
    public: Annotated[bool, Form()] = False,
) -> Response:
    """Post an update, optionally changing the status."""
    ctx = context(request, runtime)
    with runtime.db.write() as session:
        incidents.post_update(
            session,
            ctx,
            incident_id,
            actor=principal.actor,
            message=message,
            status=Status(status) if status else None,
            public=public,
        )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
