"""`opsbook serve`: the HTTP API, pages and status page, with every worker, in one process."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from opsbook.accounts import service as accounts
from opsbook.accounts.model import Role
from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption
from opsbook.cluster.node import node_started
from opsbook.config import Config, load_config
from opsbook.errors import UsageError
from opsbook.examples.config import write_example_config
from opsbook.runtime import Runtime, default_node_id, install_log_redaction, worker_factories
from opsbook.web import server

FIRST_ADMIN = "admin"


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)


def serve(
    config: ConfigOption = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: server.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on; 0 picks a free one (default 8080).")
    ] = None,
    example: Annotated[
        bool,
        typer.Option(
            "--example",
            help="Run the bundled example: watches this machine and opsbook itself, data in "
            "./.opsbook. Needs nothing set up.",
        ),
    ] = False,
    node_id: Annotated[
        str | None,
        typer.Option(help="This node's id among the nodes sharing the store (default: host:pid)."),
    ] = None,
) -> int:
    """Serve the API, the dashboard and the status page, and run checks, alerts, notifications
    and schedules, in one process. Stops cleanly on Ctrl-C or SIGTERM."""
    if example and config is not None:
        raise UsageError("--example uses the bundled config; leave out --config")
    base = open_config(None if example else config)
    settings = base.settings.server
    sock = server.bind(host or settings.host, settings.port if port is None else port)
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{_url_host(bound_host)}:{bound_port}"
    cfg = _example_config(url) if example else base
    install_log_redaction(cfg.redactor)
    db = open_database(cfg)
    runtime = Runtime(cfg, db, node_id=node_id or default_node_id())
    try:
        with node_started(runtime):  # a second node on one SQLite file refuses here
            first = _first_admin(runtime)
            if first is not None:
                cfg.redactor.add(first)

            def ready() -> None:
                _announce(url, runtime, first)

            server.run_loop(server.serve(runtime, sock, worker_factories(), on_ready=ready))
    finally:
        db.dispose()
    typer.echo("opsbook stopped.")
    return 0


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - naming it, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _example_config(url: str) -> Config:
    data_dir = Path.cwd() / ".opsbook"
    return load_config(write_example_config(data_dir, self_url=url))


def _first_admin(runtime: Runtime) -> str | None:
    """Create the first admin with a generated password when the store has no users."""
    with runtime.db.write() as session:
        if accounts.count_users(session):
            return None
        password = secrets.token_urlsafe(12)
        accounts.add_user(
            session,
            runtime.clock,
            name=FIRST_ADMIN,
            password=password,
            role=Role.ADMIN,
            actor="opsbook serve",
        )
    return password


def _announce(url: str, runtime: Runtime, password: str | None) -> None:
    typer.echo(f"opsbook is serving {url}  (store: {runtime.db.display_url()})")
    if runtime.config.path is not None:
        typer.echo(f"config: {runtime.config.path}")
    if password is not None:
        typer.echo(
            f"First sign-in: user {FIRST_ADMIN}, password {password}"
            "  (shown once; change it with `opsbook user passwd admin`)"
        )
    typer.echo("Stop with Ctrl-C.")
