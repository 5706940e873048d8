"""The JSON shapes of users and tokens, shared by `--json` and the HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from opsbook.accounts.model import Principal, Role
from opsbook.accounts.tables import ApiToken, User


class UserInfo(BaseModel):
    name: str
    role: Role
    created_at: datetime
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            name=user.name,
            role=Role(user.role),
            created_at=user.created_at,
            disabled=user.disabled_at is not None,
        )


class TokenInfo(BaseModel):
    name: str
    role: Role
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    user: str | None = Field(description="The user the token acts for; null for a service token.")
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked: bool

    @classmethod
    def of(cls, token: ApiToken, user: str | None = None) -> TokenInfo:
        return cls(
            name=token.name,
            role=Role(token.role),
            prefix=token.prefix,
            user=user,
            created_by=token.created_by,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked=token.revoked_at is not None,
        )


class IssuedTokenInfo(TokenInfo):
    token: str = Field(description="The token itself. Shown this once; opsbook keeps a digest.")


class PrincipalInfo(BaseModel):
    name: str
    role: Role
    via: str = Field(description="`session` (web sign-in) or `token` (API token).")

    @classmethod
    def of(cls, principal: Principal) -> PrincipalInfo:
        return cls(name=principal.name, role=principal.role, via=principal.via)
