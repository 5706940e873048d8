"""/checks and /checks/{name}: every check coloured by its state, and one check's history."""

from __future__ import annotations

from fastapi import Query, Request
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.web.api.checks import _detail, board
from opsbook.web.checks import history_window, latency_points
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = pages_router()
SPARKLINES = 40  # checks with a latency sparkline on a page (the failing ones come first)


@router.get("/checks", openapi_extra=needs(Role.VIEWER))
def checks_page(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Every check with its state, latency and a sparkline of the last hour."""
    rows = board(request).rows()
    start, end = history_window(runtime.clock.now(), 1)
    with runtime.db.read() as session:
        sparks = latency_points(session, [r.name for r in rows[:SPARKLINES]], start, end)
    return render(request, "checks.html", principal, checks=rows, sparks=sparks)


@router.get("/checks/{name}", openapi_extra=needs(Role.VIEWER))
def check_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    name: str,
    hours: float = Query(default=24.0, gt=0, le=24 * 400),
) -> Response:
    """One check: state, latency chart, uptime and its status changes."""
    detail = _detail(runtime, board(request), name)
    start, end = history_window(runtime.clock.now(), hours)
    with runtime.db.read() as session:
        points = latency_points(session, [name], start, end)[name]
    return render(request, "check.html", principal, check=detail, points=points, hours=hours)
