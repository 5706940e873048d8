"""`opsbook user` and `opsbook token`: the people and scripts that may use the server.

Passwords are read from a hidden prompt or standard input, never from the command line (where
`ps` would show them); a token is printed once, when it is created.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from typing import Annotated

import typer

from opsbook.accounts import service as accounts
from opsbook.accounts.model import Role
from opsbook.accounts.schema import TokenInfo, UserInfo
from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, escape
from opsbook.clock import SystemClock
from opsbook.errors import UsageError
from opsbook.units import parse_duration

user_app = typer.Typer(help="Add and manage the people who sign in to `opsbook serve`.")
token_app = typer.Typer(help="Create and revoke API tokens for scripts and other tools.")

RoleOption = Annotated[
    Role, typer.Option("--role", help="viewer (read), responder (act), admin (manage).")
]


def register(root: typer.Typer) -> None:
    root.add_typer(user_app, name="user")
    root.add_typer(token_app, name="token")


def _actor() -> str:
    try:
        return f"{getpass.getuser()} (cli)"
    except (KeyError, OSError):
        return "cli"


def _read_password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    """The new password and whether it was generated (and so must be shown)."""
    if generate:
        return secrets.token_urlsafe(12), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        raise UsageError("the two passwords differ")
    return first, False


StdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]
GenerateOption = Annotated[
    bool, typer.Option("--generate", help="Generate a password and print it once.")
]


@user_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="User name to sign in with.")],
    role: RoleOption = Role.VIEWER,
    password_stdin: StdinOption = False,
    generate: GenerateOption = False,
    config: ConfigOption = None,
) -> None:
    """Add a user (asks for the password unless --password-stdin or --generate)."""
    password, generated = _read_password(password_stdin, generate)
    db = open_database(open_config(config))
    try:
        with db.write() as session:
            accounts.add_user(
                session, SystemClock(), name=name, password=password, role=role, actor=_actor()
            )
    finally:
        db.dispose()
    console.print(f"Added {escape(name)} ({role}).")
    if generated:
        typer.echo(f"Password (shown once): {password}")


@user_app.command("passwd")
def set_password(
    name: str,
    password_stdin: StdinOption = False,
    generate: GenerateOption = False,
    config: ConfigOption = None,
) -> None:
    """Set a user's password; their web sessions end."""
    password, generated = _read_password(password_stdin, generate)
    db = open_database(open_config(config))
    try:
        with db.write() as session:
            accounts.set_password(
                session, SystemClock(), name=name, password=password, actor=_actor()
            )
    finally:
        db.dispose()
    console.print(f"Changed the password of {escape(name)}.")
    if generated:
        typer.echo(f"Password (shown once): {password}")


@user_app.command("role")
def set_role(
    name: str, role: Annotated[Role, typer.Argument()], config: ConfigOption = None
) -> None:
    """Give a user another role."""
    db = open_database(open_config(config))
    try:
        with db.write() as session:
            accounts.set_role(session, SystemClock(), name=name, role=role, actor=_actor())
    finally:
        db.dispose()
    console.print(f"{escape(name)} is now {role}.")


@user_app.command("disable")
def disable_user(name: str, config: ConfigOption = None) -> None:
    """Disable a user: their sessions end and their tokens stop working."""
    db = open_database(open_config(config))
    try:
        with db.write() as session:
            accounts.disable_user(session, SystemClock(), name=name, actor=_actor())
    finally:
        db.dispose()
    console.print(f"Disabled {escape(name)}.")


@user_app.command("list")
def list_users(config: ConfigOption = None, json: JsonOption = False) -> None:
    """List users with their roles."""
    db = open_database(open_config(config))
    try:
        with db.read() as session:
            users = [UserInfo.of(u) for u in accounts.list_users(session)]
    finally:
        db.dispose()
    if json:
        emit_json({"users": [u.model_dump(mode="json") for u in users]})
        return
    for user in users:
        state = " (disabled)" if user.disabled else ""
        console.print(f"{escape(user.name):20} {user.role:10}{state}")


@token_app.command("create")
def create_token(
    *,
    name: Annotated[str, typer.Argument(help="A name that says who uses it: ci-deploy, grafana.")],
    role: RoleOption = Role.VIEWER,
    user: Annotated[
        str | None, typer.Option(help="Act for this user (the token never exceeds their role).")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="Lifetime, e.g. 90d (default: none).")] = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Create an API token and print it once; opsbook keeps only a digest."""
    try:
        lifetime = parse_duration(expires) if expires else None
    except ValueError as exc:
        raise UsageError(f"--expires: {exc}") from None
    db = open_database(open_config(config))
    try:
        with db.write() as session:
            issued = accounts.create_token(
                session,
                SystemClock(),
                name=name,
                role=role,
                actor=_actor(),
                user=user,
                expires_in=lifetime,
            )
            info = TokenInfo.of(issued.token, user)
    finally:
        db.dispose()
    if json:
        emit_json({"token": issued.secret, **info.model_dump(mode="json")})
        return
    console.print(f"Created {role} token {escape(name)}. Keep it now; it is not shown again:")
    typer.echo(issued.secret)


@token_app.command("list")
def list_tokens(config: ConfigOption = None, json: JsonOption = False) -> None:
    """List API tokens (never the tokens themselves)."""
    db = open_database(open_config(config))
    try:
        with db.read() as session:
            owners = {u.id: u.name for u in accounts.list_users(session)}
            tokens = [
                TokenInfo.of(t, owners.get(t.user_id or 0)) for t in accounts.list_tokens(session)
            ]
    finally:
        db.dispose()
    if json:
        emit_json({"tokens": [t.model_dump(mode="json") for t in tokens]})
        return
    for token in tokens:
        state = "revoked" if token.revoked else f"last used {token.last_used_at or 'never'}"
        console.print(f"{escape(token.name):20} {token.role:10} {token.prefix}…  {state}")


@token_app.command("revoke")
def revoke_token(name: str, config: ConfigOption = None) -> None:
    """Revoke an API token at once."""
    db = open_database(open_config(config))
    try:
        with db.write() as session:
            accounts.revoke_token(session, SystemClock(), name=name, actor=_actor())
    finally:
        db.dispose()
    console.print(f"Revoked {escape(name)}.")
