"""/login and /logout: web sign-in with a session cookie.

The sign-in form is protected by a double-submit token (a random cookie echoed in a hidden
field), since there is no session yet to hold one; every later form uses the session's token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opsbook.accounts import service as accounts
from opsbook.accounts.model import Role
from opsbook.accounts.service import ThrottlePolicy
from opsbook.runtime import Runtime
from opsbook.web.pages import pages_router, render
from opsbook.web.security import (
    LOGIN_CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    MaybePrincipal,
    PrincipalDep,
    RuntimeDep,
    forget_principals,
    needs,
)

router = pages_router()


def safe_next(target: str) -> str:
    """A local path to go to after signing in; anything else (another site) becomes /."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def is_https(request: Request, runtime: Runtime) -> bool:
    return request.url.scheme == "https" or runtime.config.settings.server.public_url.startswith(
        "https://"
    )


def _login_page(
    request: Request,
    runtime: Runtime,
    *,
    next_url: str,
    name: str = "",
    message: str = "",
    status_code: int = 200,
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        login_csrf=token,
        next=safe_next(next_url),
        name=name,
        message=message,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=is_https(request, runtime),
        path="/login",
    )
    return response


@router.get("/login", openapi_extra=PUBLIC)
def login_form(
    request: Request, runtime: RuntimeDep, principal: MaybePrincipal, next: str = "/"
) -> Response:
    """The sign-in form (straight on to `next` when already signed in)."""
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, runtime, next_url=next)


@router.post("/login", openapi_extra=PUBLIC)
def login(
    *,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the name and password and start a session; throttled after repeated failures."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_page(
            request,
            runtime,
            next_url=next,
            name=name,
            status_code=403,
            message="The form had expired; please sign in again.",
        )
    server = runtime.config.settings.server
    policy = ThrottlePolicy(server.login_max_failures, server.login_window)
    address = request.client.host if request.client else "unknown"
    with runtime.db.write() as session:
        result = accounts.sign_in(
            session,
            runtime.clock,
            name=name.strip(),
            password=password,
            address=address,
            lifetime=server.session_lifetime,
            policy=policy,
        )
    if result.error is not None:
        code = 429 if isinstance(result.error, accounts.LoginThrottled) else 401
        page = _login_page(
            request,
            runtime,
            next_url=next,
            name=name,
            message=str(result.error),
            status_code=code,
        )
        if isinstance(result.error, accounts.LoginThrottled):
            page.headers["Retry-After"] = str(result.error.retry_after)
        return page
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.cookie,
        max_age=int(server.session_lifetime),
        httponly=True,
        samesite="lax",
        secure=is_https(request, runtime),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", openapi_extra=needs(Role.VIEWER))
def logout(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """End this web session."""
    with runtime.db.write() as session:
        accounts.sign_out(session, runtime.clock, principal)
    forget_principals(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
