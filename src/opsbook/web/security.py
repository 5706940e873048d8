"""Who is asking, and may they: tokens, session cookies, roles and CSRF.

Routes are authenticated by default. Every route is built by `GuardedRoute`, which adds the role
check a route declares with `openapi_extra=needs(Role.X)`; a route that declares nothing needs
`viewer` to read and `admin` to change anything, and only `openapi_extra=PUBLIC` opens a route to
everyone. The declared role is published in the OpenAPI document (`x-opsbook-role`), which is how
the tests find every route to prove it refuses the wrong people.

A browser signs in with a session cookie (HttpOnly, SameSite=Lax, Secure over https); a request
it makes that changes something must carry the session's CSRF token, as the form field
`csrf_token` or the `X-CSRF-Token` header. Requests with a bearer token need no CSRF token.
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from opsbook.accounts import service as accounts
from opsbook.accounts.model import Principal, Role
from opsbook.errors import PermissionDenied
from opsbook.runtime import Runtime
from opsbook.web.errors import NotAuthenticated

SESSION_COOKIE = "opsbook_session"
LOGIN_CSRF_COOKIE = "opsbook_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
ROLE_KEY = "x-opsbook-role"
PUBLIC_KEY = "x-opsbook-public"
PUBLIC: dict[str, Any] = {PUBLIC_KEY: True}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token from `opsbook token create`.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="A web sign-in.")


def needs(role: Role) -> dict[str, Any]:
    """`openapi_extra` for a route that needs at least `role`."""
    return {ROLE_KEY: role.value}


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class PrincipalCache:
    """Who a token or session cookie is, remembered for `ttl` seconds.

    Under load most requests then need no store lookup at all. A change made through this node
    (revoking a token, disabling a user, signing out) clears the cache at once; other nodes see
    it within `ttl`.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def get(self, key: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: str, principal: Principal | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()


def forget_principals(request: Request) -> None:
    """Call after a change to who may do what, so this node sees it at once."""
    request.app.state.principals.clear()


async def current_principal(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal | None:
    """The principal of the request, or None for an anonymous one.

    A bearer token that is present but wrong is refused outright rather than treated as
    anonymous, so a script with a stale token fails loudly.
    """
    if bearer is not None:
        principal = await _lookup(request, runtime, "token", bearer.credentials)
        if principal is None:
            raise NotAuthenticated("the API token is unknown, revoked or expired")
        return principal
    if request.headers.get("authorization"):
        raise NotAuthenticated("the Authorization header must be `Bearer <token>`")
    if cookie:
        return await _lookup(request, runtime, "session", cookie)
    return None


async def _lookup(request: Request, runtime: Runtime, kind: str, secret: str) -> Principal | None:
    cache: PrincipalCache = request.app.state.principals
    key = f"{kind}:{accounts.digest(secret)}"
    known, principal = cache.get(key)
    if not known:
        find = _token_principal if kind == "token" else _session_principal
        principal = await run_in_threadpool(find, runtime, secret)
        cache.put(key, principal)
    return principal


def _token_principal(runtime: Runtime, secret: str) -> Principal | None:
    with runtime.db.read() as session:
        principal = accounts.principal_for_token(session, runtime.clock, secret)
    if principal is not None and principal.touch_due and principal.token_id is not None:
        with runtime.db.write() as session:
            accounts.touch_token(session, runtime.clock, principal.token_id)
    return principal


def _session_principal(runtime: Runtime, cookie: str) -> Principal | None:
    with runtime.db.read() as session:
        return accounts.principal_for_session(session, runtime.clock, cookie)


MaybePrincipal = Annotated[Principal | None, Depends(current_principal)]


async def signed_in(principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in or send an API token (Authorization: Bearer ...)")
    return principal


PrincipalDep = Annotated[Principal, Depends(signed_in)]


async def check_csrf(request: Request, principal: Principal) -> None:
    """Refuse a change made with a session cookie that lacks the session's CSRF token."""
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and _is_form(request):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, principal.csrf_token):
        raise PermissionDenied("the form is stale or was not sent by opsbook (CSRF check failed)")


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


@functools.cache
def requirement(role: Role) -> Callable[..., Awaitable[Principal]]:
    """The dependency that admits principals with at least `role` (one object per role)."""

    async def require(request: Request, principal: PrincipalDep) -> Principal:
        if not principal.role.allows(role):
            raise PermissionDenied(
                f"this needs the {role} role; {principal.name} has {principal.role}"
            )
        await check_csrf(request, principal)
        return principal

    require.__name__ = f"require_{role.value}"
    return require


def default_role(methods: set[str] | list[str] | None) -> Role:
    """Routes that declare nothing: viewer to read, admin to change anything."""
    return Role.VIEWER if set(methods or ()) <= SAFE_METHODS else Role.ADMIN


class GuardedRoute(APIRoute):
    """An API route that checks the principal's role unless it is marked PUBLIC."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        extra = dict(kwargs.get("openapi_extra") or {})
        if not extra.get(PUBLIC_KEY):
            role = Role(extra.setdefault(ROLE_KEY, default_role(kwargs.get("methods")).value))
            guard = DependsParam(requirement(role))
            dependencies = list(kwargs.get("dependencies") or [])
            if guard not in dependencies:
                dependencies.append(guard)
            kwargs["dependencies"] = dependencies
        kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)
