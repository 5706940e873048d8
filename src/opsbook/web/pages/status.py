"""/status: the public status page, readable by anyone without signing in."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from opsbook.web.pages import pages_router, render
from opsbook.web.security import PUBLIC, MaybePrincipal, RuntimeDep
from opsbook.web.status import build_status

router = pages_router()


@router.get("/status", openapi_extra=PUBLIC)
def status_page(request: Request, runtime: RuntimeDep, principal: MaybePrincipal) -> Response:
    """Components from the check groups, incidents with their public updates, maintenance."""
    page = build_status(runtime, request.app.state.status_sources)
    response = render(request, "status.html", principal, status=page)
    response.headers["Cache-Control"] = "public, max-age=15"
    return response
