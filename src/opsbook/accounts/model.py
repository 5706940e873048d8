"""Roles and the principal a request acts as. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a principal may do; each role includes the ones before it."""

    VIEWER = "viewer"  # read everything that is not public
    RESPONDER = "responder"  # act on alerts, incidents and runs
    ADMIN = "admin"  # manage users, tokens and settings

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 1, Role.RESPONDER: 2, Role.ADMIN: 3}


def parse_role(value: str) -> Role:
    """The role named `value` (case-insensitive); ValueError naming the choices otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}: choose one of {choices}") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a signed-in user or an API token."""

    name: str  # the actor written to the journal: "alice" or "token:ci-deploy"
    role: Role
    via: str  # "session" or "token"
    user_id: int | None = None
    token_id: int | None = None
    session_id: int | None = None
    csrf_token: str = ""  # the session's form token (empty for API tokens)
    touch_due: bool = False  # the token's last_used_at is stale and should be written

    @property
    def actor(self) -> str:
        return self.name
