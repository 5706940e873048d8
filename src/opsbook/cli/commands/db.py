"""`opsbook db`: the store's schema."""

from __future__ import annotations

import typer

from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json

app = typer.Typer(help="Create and upgrade the store (SQLite by default, or PostgreSQL).")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")


@app.command("upgrade")
def upgrade_command(config: ConfigOption = None, json: JsonOption = False) -> None:
    """Apply every pending migration to the store named by database_url."""
    from opsbook.cli.context import open_config, open_database
    from opsbook.storage.migrate import current_revisions, upgrade

    cfg = open_config(config)
    db = open_database(cfg, migrate=False)
    try:
        applied = upgrade(db)
        if json:
            emit_json(
                {
                    "database": db.display_url(),
                    "applied": applied,
                    "current": sorted(current_revisions(db)),
                }
            )
            return
        if applied:
            console.print(f"Upgraded {db.display_url()}: applied {', '.join(applied)}")
        else:
            console.print(f"{db.display_url()} is up to date.")
    finally:
        db.dispose()


@app.command("status")
def status_command(config: ConfigOption = None, json: JsonOption = False) -> None:
    """Show the store's schema revision and any migrations not yet applied. Exit 1 if behind."""
    from opsbook.cli.context import open_config, open_database
    from opsbook.storage.migrate import current_revisions, head_revisions, pending_revisions

    cfg = open_config(config)
    db = open_database(cfg, migrate=False)
    try:
        current = sorted(current_revisions(db))
        pending = pending_revisions(db)
        if json:
            emit_json(
                {
                    "database": db.display_url(),
                    "current": current,
                    "heads": sorted(head_revisions()),
                    "pending": pending,
                }
            )
        else:
            console.print(f"store:   {db.display_url()}")
            console.print(f"current: {', '.join(current) or '(empty)'}")
            console.print(f"pending: {', '.join(pending) or 'none'}")
    finally:
        db.dispose()
    if pending:
        raise typer.Exit(1)
