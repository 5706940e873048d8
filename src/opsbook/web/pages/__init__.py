"""Server-rendered pages: one module per page family, every route guarded like the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from opsbook.accounts.model import Principal
from opsbook.web.security import GuardedRoute


def pages_router() -> APIRouter:
    return APIRouter(route_class=GuardedRoute, tags=["pages"], default_response_class=HTMLResponse)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> Response:
    """A page, with the principal and its CSRF token in the context of every template."""
    context = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal is not None else "",
        "path": request.url.path,
        **values,
    }
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response
