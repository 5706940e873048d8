"""`opsbook cluster status`: the nodes sharing this store, who leads, and what each runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table

from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, escape
from opsbook.clock import SystemClock
from opsbook.cluster import service
from opsbook.cluster.schema import cluster_json

app = typer.Typer(help="Nodes sharing one store: membership, heartbeats and leadership.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="cluster")


@app.command("status")
def status_command(
    config: ConfigOption = None,
    json: JsonOption = False,
    all_nodes: Annotated[
        bool, typer.Option("--all", help="Include nodes that stopped or died (last 24 h).")
    ] = False,
) -> None:
    """Show each node: its id, whether it leads, its heartbeat age and how many checks it runs.

    Exit 0 when at least one node is alive and one leads, 1 otherwise (nothing is watching).
    """
    cfg = open_config(config)
    db = open_database(cfg)
    try:
        with db.read() as session:
            nodes = service.status(session, SystemClock().now(), include_dead=all_nodes)
    finally:
        db.dispose()
    healthy = any(n.alive for n in nodes) and any(n.leader for n in nodes)
    if json:
        emit_json(cluster_json(nodes))
    elif not nodes:
        console.print("No live nodes: start one with `opsbook serve` or `opsbook watch`.")
    else:
        _print_table(nodes)
    if not healthy:
        raise typer.Exit(1)


def _print_table(nodes: Sequence[service.NodeStatus]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("node", "leader", "state", "heartbeat", "checks", "host", "started", "version"):
        table.add_column(column, justify="right" if column in {"heartbeat", "checks"} else "left")
    for n in nodes:
        table.add_row(
            escape(n.id),
            "[bold]leader[/]" if n.leader else "",
            "[green]alive[/]" if n.alive else "[red]dead[/]",
            f"{n.heartbeat_age_seconds:.1f}s ago",
            str(n.checks),
            escape(n.host),
            f"{n.started_at:%Y-%m-%d %H:%M:%S}Z",
            escape(n.version),
        )
    console.print(table)
    alive = sum(n.alive for n in nodes)
    leader = next((n.id for n in nodes if n.leader), None)
    console.print(
        f"\n{alive} live node{'s' if alive != 1 else ''}; "
        + (f"leader: {escape(leader)}" if leader else "[red]no leader[/]")
    )
