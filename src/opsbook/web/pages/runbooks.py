"""/runbooks and /runbooks/{id}: the runbooks and their procedures, steps and extracted parts."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.web.api.runbooks import catalog, summary
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PrincipalDep, needs

router = pages_router()


@router.get("/runbooks", openapi_extra=needs(Role.VIEWER))
def runbooks_page(request: Request, principal: PrincipalDep) -> Response:
    """Every configured runbook with its procedures, rules and schedules counted."""
    cat = catalog(request)
    items = [summary(item.id, cat.parse(item)) for item in cat.files()]
    return render(request, "runbooks.html", principal, runbooks=items)


@router.get("/runbooks/{runbook_id}", openapi_extra=needs(Role.VIEWER))
def runbook_page(request: Request, principal: PrincipalDep, runbook_id: str) -> Response:
    """One runbook: its procedures part by part, each step with its code and why it is gated."""
    cat = catalog(request)
    book = cat.parse(cat.find(runbook_id))
    return render(request, "runbook.html", principal, runbook_id=runbook_id, book=book)
