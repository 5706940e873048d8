"""Users, API tokens and web sessions. Functions flush; the caller's unit of work commits.

Every change is journaled with its actor in the same transaction. Token and session secrets are
returned once, to the caller that made them, and only their digests are stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opsbook.accounts import passwords
from opsbook.accounts.model import Principal, Role, parse_role
from opsbook.accounts.tables import ApiToken, LoginFailure, User, WebSession
from opsbook.clock import Clock
from opsbook.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from opsbook.journal.service import Subject, record

TOKEN_PREFIX = "opsb_"  # noqa: S105 - a prefix, not a secret
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_TOUCH_EVERY = timedelta(minutes=1)  # how stale a token's last_used_at may get


class LoginThrottled(PermissionDenied):
    """Too many failed sign-ins for this name or address; try again after `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"too many failed sign-ins; try again in {self.retry_after} seconds")


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5  # per user name within the window; four times that per address
    window_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class SignInResult:
    principal: Principal | None = None
    cookie: str = ""  # the session secret for the cookie, when signed in
    error: PermissionDenied | None = None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise UsageError(
            f"{kind} name {name!r} is not valid: use letters, digits and . _ @ - (at most 100)"
        )


def _role(value: Role | str) -> Role:
    try:
        return value if isinstance(value, Role) else parse_role(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


# Users ---------------------------------------------------------------------------------------


def add_user(
    session: Session, clock: Clock, *, name: str, password: str, role: Role | str, actor: str
) -> User:
    """A new user; ConflictError when the name is taken, UsageError for a weak password."""
    _check_name("user", name)
    wanted = _role(role)
    try:
        passwords.check_strength(password)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if find_user(session, name) is not None:
        raise ConflictError(f"user {name!r} already exists")
    user = User(
        name=name,
        role=wanted.value,
        password_hash=passwords.hash_password(password),
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    _journal(session, clock, actor, "user.add", "user", name, f"added user {name} ({wanted})")
    return user


def find_user(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name)).first()


def get_user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.name)).all()


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_password(session: Session, clock: Clock, *, name: str, password: str, actor: str) -> None:
    """Replace a user's password and end every session they have."""
    user = get_user(session, name)
    try:
        passwords.check_strength(password)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    user.password_hash = passwords.hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    _journal(session, clock, actor, "user.password", "user", name, f"changed {name}'s password")


def set_role(session: Session, clock: Clock, *, name: str, role: Role | str, actor: str) -> None:
    user = get_user(session, name)
    wanted = _role(role)
    before, user.role = user.role, wanted.value
    _journal(session, clock, actor, "user.role", "user", name, f"{name}: role {before} -> {wanted}")


def disable_user(session: Session, clock: Clock, *, name: str, actor: str) -> None:
    """Disable a user: their sessions end and their tokens stop working."""
    user = get_user(session, name)
    if user.disabled_at is None:
        user.disabled_at = clock.now()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    _journal(session, clock, actor, "user.disable", "user", name, f"disabled user {name}")


# API tokens ----------------------------------------------------------------------------------


def create_token(
    session: Session,
    clock: Clock,
    *,
    name: str,
    role: Role | str,
    actor: str,
    user: str | None = None,
    expires_in: float | None = None,
) -> IssuedToken:
    """A new API token. Its secret is in the result only; the store keeps a digest."""
    _check_name("token", name)
    wanted = _role(role)
    owner = get_user(session, user) if user else None
    if owner is not None and not Role(owner.role).allows(wanted):
        raise UsageError(f"user {owner.name} is {owner.role} and cannot hold a {wanted} token")
    if session.scalars(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise ConflictError(f"a token named {name!r} already exists")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        name=name,
        role=wanted.value,
        digest=digest(secret),
        prefix=secret[:12],
        user_id=owner.id if owner else None,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
    )
    session.add(token)
    session.flush()
    summary = f"created {wanted} token {name}" + (f" for {owner.name}" if owner else "")
    _journal(session, clock, actor, "token.create", "token", name, summary)
    return IssuedToken(token, secret)


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.name)).all()


def revoke_token(session: Session, clock: Clock, *, name: str, actor: str) -> ApiToken:
    token = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if token is None:
        raise NotFoundError(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    _journal(session, clock, actor, "token.revoke", "token", name, f"revoked token {name}")
    return token


def principal_for_token(session: Session, clock: Clock, secret: str) -> Principal | None:
    """Who a bearer token acts as; None for an unknown, revoked or expired token."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalars(select(ApiToken).where(ApiToken.digest == digest(secret))).first()
    now = clock.now()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    role, name = Role(token.role), f"token:{token.name}"
    if token.user_id is not None:
        owner = session.get(User, token.user_id)
        if owner is None or owner.disabled_at is not None:
            return None
        role, name = min(role, Role(owner.role), key=lambda r: r.rank), owner.name
    due = token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY
    return Principal(
        name=name,
        role=role,
        via="token",
        user_id=token.user_id,
        token_id=token.id,
        touch_due=due,
    )


def touch_token(session: Session, clock: Clock, token_id: int) -> None:
    """Note that a token was used, at most once a minute (so reads stay reads)."""
    token = session.get(ApiToken, token_id)
    now = clock.now()
    if token is not None and (
        token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY
    ):
        token.last_used_at = now


# Web sessions --------------------------------------------------------------------------------


def sign_in(
    session: Session,
    clock: Clock,
    *,
    name: str,
    password: str,
    address: str,
    lifetime: float,
    policy: ThrottlePolicy,
) -> SignInResult:
    """Check a name and password and open a web session.

    A failure is recorded (and journaled) rather than raised, so the caller commits it and then
    raises `result.error`; too many recent failures refuse without checking the password.
    """
    now = clock.now()
    wait = _throttle_wait(session, now, name, address, policy)
    if wait is not None:
        return SignInResult(error=LoginThrottled(wait))
    user = find_user(session, name)
    if user is None or user.disabled_at is not None:
        passwords.dummy_verify(password)
        ok = False
    else:
        ok = passwords.verify_password(password, user.password_hash)
    if not ok or user is None:
        session.add(LoginFailure(name=name[:100], address=address[:64], at=now))
        _journal(
            session,
            clock,
            "anonymous",
            "user.sign_in_failed",
            "user",
            name[:100],
            f"failed sign-in as {name[:100]} from {address}",
        )
        return SignInResult(error=PermissionDenied("wrong user name or password"))
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.execute(delete(LoginFailure).where(LoginFailure.name == name))
    cookie = secrets.token_urlsafe(32)
    web = WebSession(
        digest=digest(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    session.add(web)
    session.flush()
    _journal(
        session,
        clock,
        user.name,
        "user.sign_in",
        "user",
        user.name,
        f"{user.name} signed in from {address}",
    )
    return SignInResult(principal=_session_principal(user, web), cookie=cookie)


def principal_for_session(session: Session, clock: Clock, cookie: str) -> Principal | None:
    """Who a session cookie acts as; None when it is unknown, expired or its user disabled."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.digest == digest(cookie))
    ).first()
    if row is None:
        return None
    web, user = row
    if web.expires_at <= clock.now() or user.disabled_at is not None:
        return None
    return _session_principal(user, web)


def sign_out(session: Session, clock: Clock, principal: Principal) -> None:
    if principal.session_id is None:
        return
    session.execute(delete(WebSession).where(WebSession.id == principal.session_id))
    _journal(
        session,
        clock,
        principal.actor,
        "user.sign_out",
        "user",
        principal.name,
        f"{principal.name} signed out",
    )


def prune(session: Session, now: datetime, policy: ThrottlePolicy) -> int:
    """Delete expired sessions and failures older than the throttle window; returns the count."""
    gone = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    cutoff = now - timedelta(seconds=policy.window_seconds)
    old = session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))
    return int(gone.rowcount or 0) + int(old.rowcount or 0)  # type: ignore[attr-defined]


def _session_principal(user: User, web: WebSession) -> Principal:
    return Principal(
        name=user.name,
        role=Role(user.role),
        via="session",
        user_id=user.id,
        session_id=web.id,
        csrf_token=web.csrf_token,
    )


def _throttle_wait(
    session: Session, now: datetime, name: str, address: str, policy: ThrottlePolicy
) -> int | None:
    """Seconds until another attempt is allowed, or None when one is allowed now."""
    since = now - timedelta(seconds=policy.window_seconds)
    for column, value, limit in (
        (LoginFailure.name, name, policy.max_failures),
        (LoginFailure.address, address, policy.max_failures * 4),
    ):
        times = session.scalars(
            select(LoginFailure.at)
            .where(column == value, LoginFailure.at >= since)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            free_at = times[-1] + timedelta(seconds=policy.window_seconds)
            return int((free_at - now).total_seconds()) + 1
    return None


def _journal(  # noqa: PLR0917 - one call shape for every entry of this module
    session: Session, clock: Clock, actor: str, action: str, kind: str, name: str, summary: str
) -> None:
    record(session, clock, actor=actor, action=action, subject=Subject(kind, name), summary=summary)
