"""One error shape for every endpoint, and the mapping from opsbook's exceptions to statuses.

Every JSON error reads `{"ok": false, "status": 404, "error": "...", "errors": [...]}`; `errors`
lists one line per invalid field (empty otherwise). Pages get the same text as an HTML page, and a
page that needs a sign-in redirects to /login instead of answering 401.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from opsbook.accounts.service import LoginThrottled
from opsbook.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    OpsbookError,
    PermissionDenied,
    UnavailableError,
)

log = logging.getLogger(__name__)


class NotAuthenticated(OpsbookError):
    """The request carries no valid token or session."""


STATUSES: tuple[tuple[type[OpsbookError], int], ...] = (
    (NotAuthenticated, 401),
    (LoginThrottled, 429),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InputError, 400),
    (UnavailableError, 503),
)


def status_for(exc: OpsbookError) -> int:
    return next((code for kind, code in STATUSES if isinstance(exc, kind)), 500)


def error_body(status: int, message: str, errors: list[str] | None = None) -> dict[str, Any]:
    return {"ok": False, "status": status, "error": message, "errors": errors or []}


def wants_html(request: Request) -> bool:
    """True for a browser asking for a page (not the JSON API)."""
    path = request.url.path
    if path.startswith("/api/") or path in {"/health", "/metrics", "/openapi.json"}:
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, message: str, errors: list[str] | None = None
) -> Response:
    headers: dict[str, str] = {}
    if status == 401:
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        headers["WWW-Authenticate"] = 'Bearer realm="opsbook"'
    if wants_html(request):
        templates = request.app.state.templates
        return templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "error.html",
            {"status": status, "message": message, "errors": errors or []},
            status_code=status,
            headers=headers,
        )
    return JSONResponse(error_body(status, message, errors), status_code=status, headers=headers)


async def _opsbook_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OpsbookError)
    response = error_response(request, status_for(exc), str(exc))
    if isinstance(exc, LoginThrottled):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint or page: {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    response = error_response(request, exc.status_code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    lines = [_describe(error) for error in exc.errors()]
    return error_response(request, 422, "the request is not valid: " + "; ".join(lines), lines)


async def _unexpected(request: Request, exc: Exception) -> Response:
    reference = secrets.token_hex(4)
    log.error(
        "unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    message = (
        f"internal error {type(exc).__name__} (reference {reference}); "
        "the server log has the details"
    )
    return error_response(request, 500, message)


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
    return f"{loc}: {error.get('msg', 'invalid')}"


def install(app: FastAPI) -> None:
    app.add_exception_handler(OpsbookError, _opsbook_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
