"""/api/v1/me, /api/v1/users and /api/v1/tokens: who is asking, and managing people and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request
from pydantic import BaseModel, Field

from opsbook.accounts import service as accounts
from opsbook.accounts.model import Role
from opsbook.accounts.schema import IssuedTokenInfo, PrincipalInfo, TokenInfo, UserInfo
from opsbook.config.types import Duration
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.security import PrincipalDep, RuntimeDep, forget_principals, needs

router = api_router(prefix=API_PREFIX, tags=["accounts"])


class NewUser(BaseModel):
    name: str
    password: str = Field(min_length=8)
    role: Role = Role.VIEWER


class NewToken(BaseModel):
    name: str
    role: Role = Role.VIEWER
    user: str | None = Field(default=None, description="Act for this user (capped at their role).")
    expires_in: Duration | None = Field(default=None, description="Lifetime, e.g. `90d`.")


class NewRole(BaseModel):
    role: Role


@router.get("/me", openapi_extra=needs(Role.VIEWER))
async def me(principal: PrincipalDep) -> PrincipalInfo:
    """The principal this request acts as."""
    return PrincipalInfo.of(principal)


@router.get("/users", openapi_extra=needs(Role.ADMIN))
def list_users(runtime: RuntimeDep) -> list[UserInfo]:
    with runtime.db.read() as session:
        return [UserInfo.of(user) for user in accounts.list_users(session)]


@router.post("/users", status_code=201, openapi_extra=needs(Role.ADMIN))
def add_user(runtime: RuntimeDep, principal: PrincipalDep, body: NewUser) -> UserInfo:
    with runtime.db.write() as session:
        user = accounts.add_user(
            session,
            runtime.clock,
            name=body.name,
            password=body.password,
            role=body.role,
            actor=principal.actor,
        )
        return UserInfo.of(user)


@router.put("/users/{name}/role", openapi_extra=needs(Role.ADMIN))
def set_role(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, name: str, body: NewRole
) -> UserInfo:
    with runtime.db.write() as session:
        accounts.set_role(session, runtime.clock, name=name, role=body.role, actor=principal.actor)
        info = UserInfo.of(accounts.get_user(session, name))
    forget_principals(request)
    return info


@router.post("/users/{name}/disable", openapi_extra=needs(Role.ADMIN))
def disable_user(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, name: str
) -> UserInfo:
    with runtime.db.write() as session:
        accounts.disable_user(session, runtime.clock, name=name, actor=principal.actor)
        info = UserInfo.of(accounts.get_user(session, name))
    forget_principals(request)
    return info


@router.get("/tokens", openapi_extra=needs(Role.ADMIN))
def list_tokens(runtime: RuntimeDep) -> list[TokenInfo]:
    with runtime.db.read() as session:
        names = {user.id: user.name for user in accounts.list_users(session)}
        return [TokenInfo.of(t, names.get(t.user_id or 0)) for t in accounts.list_tokens(session)]


@router.post("/tokens", status_code=201, openapi_extra=needs(Role.ADMIN))
def create_token(
    runtime: RuntimeDep, principal: PrincipalDep, body: Annotated[NewToken, Body()]
) -> IssuedTokenInfo:
    """A new API token; the response holds the token itself, shown this once."""
    with runtime.db.write() as session:
        issued = accounts.create_token(
            session,
            runtime.clock,
            name=body.name,
            role=body.role,
            actor=principal.actor,
            user=body.user,
            expires_in=body.expires_in,
        )
        info = TokenInfo.of(issued.token, body.user)
    return IssuedTokenInfo(**info.model_dump(), token=issued.secret)


@router.delete("/tokens/{name}", openapi_extra=needs(Role.ADMIN))
def revoke_token(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, name: str
) -> TokenInfo:
    with runtime.db.write() as session:
        token = accounts.revoke_token(session, runtime.clock, name=name, actor=principal.actor)
        info = TokenInfo.of(token)
    forget_principals(request)
    return info
