"""/alerts and /incidents: acknowledge and silence alerts; open incidents and take every action
on them from their page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.alerts import queries, silences
from opsbook.alerts.schema import alert_json, silence_json
from opsbook.errors import OpsbookError, UsageError
from opsbook.execution.select import find
from opsbook.incidents import action_items
from opsbook.incidents import service as incidents
from opsbook.incidents.model import Status, parse_status
from opsbook.incidents.schema import incident_summary
from opsbook.incidents.service import IncidentContext
from opsbook.runtime import Runtime
from opsbook.units import parse_duration
from opsbook.web.api.incidents import (
    IncidentRun,
    change,
    context,
    detail,
    postmortem_markdown,
    run_for_incident,
)
from opsbook.web.pages import pages_router, render
from opsbook.web.runbooks import RunbookCatalog
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()
Action = Callable[[Session, IncidentContext], object]


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
    """Open an incident; you are its commander, as when it is opened through the API."""
    ctx = context(request, runtime)
    with runtime.db.write() as session:
        row = incidents.open_incident(
            session,
            ctx,
            title=title,
            severity=severity,
            actor=principal.actor,
            impact=impact,
            commander=principal.actor,
            public=public,
        )
        incident_id = row.id
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/incidents/{incident_id}", openapi_extra=needs(Role.VIEWER))
def incident_page(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> Response:
    """One incident: its state, timeline, alerts, runs and action items, and for responders a
    form for every action."""
    ctx = context(request, runtime)
    found = detail(runtime, ctx, incident_id)
    can_act = principal.role.allows(Role.RESPONDER)
    return render(
        request,
        "incident.html",
        principal,
        incident=found,
        statuses=[s.value for s in Status],
        levels=ctx.policy.levels,
        procedures=_procedures(request) if can_act else [],
        linked=_linked(request, found["runbook"]) if can_act else "",
        can_act=can_act,
    )


def _procedures(request: Request) -> list[tuple[str, str]]:
    """(value, label) of every runnable procedure of the configured runbooks, for the run form."""
    catalog = request.app.state.runbooks
    choices = []
    for item in catalog.files():
        try:
            book = catalog.parse(item)
        except OpsbookError:
            continue  # a broken runbook is reported on its own page
        choices += [(f"{item.id}|{p.slug}", f"{item.id}: {p.title}") for p in book.procedures]
    return choices


def _linked(request: Request, link: str) -> str:
    """The run form's value for the procedure the incident's runbook link names ("" if none)."""
    if not link:
        return ""
    catalog: RunbookCatalog = request.app.state.runbooks
    try:
        item, anchor = catalog.find_link(link)
        selection = find(catalog.parse(item), anchor)
    except OpsbookError:
        return ""  # a wiki link, or a procedure renamed since: the form lists every one
    return f"{item.id}|{selection.procedure.slug}"


@router.get("/incidents/{incident_id}/postmortem", openapi_extra=needs(Role.VIEWER))
def postmortem_page(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> Response:
    """The post-mortem draft, as Markdown to copy into the team's document."""
    text = postmortem_markdown(runtime, context(request, runtime), incident_id)
    return render(request, "postmortem.html", principal, incident_id=incident_id, markdown=text)


def _act(request: Request, runtime: Runtime, incident_id: int, act: Action) -> Response:
    change(request, runtime, incident_id, act)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/ack", openapi_extra=needs(Role.RESPONDER))
def ack_incident_from_form(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> Response:
    """Acknowledge the incident."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.acknowledge(s, ctx, incident_id, actor=principal.actor),
    )


@router.post("/incidents/{incident_id}/assign", openapi_extra=needs(Role.RESPONDER))
def assign_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    commander: Annotated[str, Form(min_length=1)],
) -> Response:
    """Make someone the incident commander."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.assign(
            s, ctx, incident_id, commander=commander.strip(), actor=principal.actor
        ),
    )


@router.post("/incidents/{incident_id}/severity", openapi_extra=needs(Role.RESPONDER))
def severity_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    severity: Annotated[str, Form()],
) -> Response:
    """Change the severity."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.set_severity(
            s, ctx, incident_id, severity=severity, actor=principal.actor
        ),
    )


@router.post("/incidents/{incident_id}/resolve", openapi_extra=needs(Role.RESPONDER))
def resolve_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    root_cause: Annotated[str, Form()] = "",
    resolution: Annotated[str, Form()] = "",
) -> Response:
    """Resolve the incident."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.resolve(
            s,
            ctx,
            incident_id,
            actor=principal.actor,
            root_cause=root_cause,
            resolution=resolution,
        ),
    )


@router.post("/incidents/{incident_id}/close", openapi_extra=needs(Role.RESPONDER))
def close_from_form(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, incident_id: int
) -> Response:
    """Close a resolved incident."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.close(s, ctx, incident_id, actor=principal.actor),
    )


@router.post("/incidents/{incident_id}/notes", openapi_extra=needs(Role.RESPONDER))
def note_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    text: Annotated[str, Form(min_length=1)],
) -> Response:
    """Add a note to the timeline."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.add_note(s, ctx, incident_id, actor=principal.actor, text=text),
    )


@router.post("/incidents/{incident_id}/action-items", openapi_extra=needs(Role.RESPONDER))
def action_item_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    text: Annotated[str, Form(min_length=1)],
    owner: Annotated[str, Form()] = "",
) -> Response:
    """Add an action item."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: action_items.add(
            s, ctx, incident_id, actor=principal.actor, text=text, owner=owner
        ),
    )


@router.post("/incidents/{incident_id}/action-items/{item_id}", openapi_extra=needs(Role.RESPONDER))
def action_item_status_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    item_id: int,
    status: Annotated[str, Form()] = "",
    owner: Annotated[str | None, Form()] = None,
    due: Annotated[str, Form()] = "",
) -> Response:
    """Mark an action item done, dropped or open again, or change its owner or due date
    (a date, `YYYY-MM-DD`, taken as midnight UTC)."""
    when = _due_date(due)
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: action_items.update(
            s,
            ctx,
            item_id,
            actor=principal.actor,
            incident_id=incident_id,
            status=status or None,
            owner=owner.strip() if owner is not None else None,
            due=when,
        ),
    )


def _due_date(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"due: {text!r} is not a date (YYYY-MM-DD)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@router.post("/incidents/{incident_id}/runs", openapi_extra=needs(Role.RESPONDER))
async def run_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    procedure: Annotated[str, Form()],
) -> Response:
    """Run a procedure for the incident and follow it on its run page."""
    runbook, _, slug = procedure.partition("|")
    body = IncidentRun(runbook=runbook, procedure=slug)
    started = await run_for_incident(request, runtime, principal, incident_id, body)
    return RedirectResponse(started["url"], status_code=303)


@router.post("/incidents/{incident_id}/updates", openapi_extra=needs(Role.RESPONDER))
def update_from_form(
    *,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    incident_id: int,
    message: Annotated[str, Form(min_length=1)],
    status: Annotated[str, Form()] = "",
    impact: Annotated[str, Form()] = "",
    eta: Annotated[str, Form()] = "",
    public: Annotated[bool, Form()] = False,
) -> Response:
    """Post an update, optionally changing the status and the impact."""
    return _act(
        request,
        runtime,
        incident_id,
        lambda s, ctx: incidents.post_update(
            s,
            ctx,
            incident_id,
            actor=principal.actor,
            message=message,
            status=parse_status(status) if status else None,
            impact=impact.strip() or None,
            eta=eta.strip() or None,
            public=public,
        ),
    )
