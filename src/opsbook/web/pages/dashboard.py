"""The dashboard (/) and the journal page: what is healthy, firing, open and running."""

from __future__ import annotations

from fastapi import Query, Request
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.alerts import queries as alert_queries
from opsbook.alerts.schema import alert_json
from opsbook.cluster import service as cluster_service
from opsbook.execution import service as runs_service
from opsbook.inbox import service as inbox
from opsbook.incidents import service as incidents
from opsbook.incidents.schema import incident_summary
from opsbook.journal import service as journal
from opsbook.web.api.incidents import context
from opsbook.web.checks import history_window, latency_points
from opsbook.web.operations import attention, threshold_rows
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()


@router.get("/", openapi_extra=needs(Role.VIEWER))
def dashboard(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """The rollup, checks, firing alerts, open incidents and running runs at a glance."""
    health = request.app.state.health.current()
    rows = request.app.state.checks.rows()
    start, end = history_window(runtime.clock.now(), 1)
    with runtime.db.read() as session:
        external = [inbox.info(row) for row in inbox.alerts(session, status="firing", limit=50)]
        sparks = latency_points(session, [r.name for r in rows[:25]], start, end)
        firing = [alert_json(r, None) for r in alert_queries.current(session)]
        ctx = context(request, runtime)
        open_incidents = [
            incident_summary(r, ctx.policy, runtime.clock.now())
            for r in incidents.list_incidents(session, open_only=True, limit=20)
        ]
        active_runs = [
            run
            for status in ("running", "waiting")
            for run in runs_service.list_runs(session, limit=20, status=status)
        ]
        nodes = cluster_service.status(session, runtime.clock.now())
        needs_attention = attention(runtime, session)
        thresholds = threshold_rows(runtime, session)
    names = {r.name for r in rows}
    return render(
        request,
        "dashboard.html",
        principal,
        health=health,
        own=[c for c in health["checks"] if c["name"] not in names],
        external=external,
        checks=rows,
        sparks=sparks,
        active_runs=active_runs,
        firing=firing,
        open_incidents=open_incidents,
        nodes=nodes,
        this_node=runtime.node_id,
        attention=needs_attention,
        thresholds=thresholds,
    )


@router.get("/journal", openapi_extra=needs(Role.VIEWER))
def journal_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    action: str | None = Query(default=None, description="Only actions starting with this."),
) -> Response:
    """The audit journal: every change, with who made it."""
    with runtime.db.read() as session:
        rows = list(journal.entries(session, action_prefix=action, limit=200))
    return render(request, "journal.html", principal, entries=rows, action=action or "")
