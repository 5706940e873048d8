"""`opsbook backup`: run, list, verify, restore-test, restore, copy off-site and prune backups."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from opsbook.cli.context import open_config, open_database
from opsbook.cli.options import ConfigOption, JsonOption
from opsbook.cli.output import console, emit_json, err_console, escape
from opsbook.units import format_size

app = typer.Typer(help="Backups (`backups:` in opsbook.yaml), verified and proven by restoring.")

Ref = Annotated[str, typer.Argument(help="A backup id, or a target name for its newest good one.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="backup")


@contextlib.contextmanager
def _context(config: Any, *, progress: str = "") -> Iterator[Any]:
    from opsbook.backups.context import BackupContext
    from opsbook.clock import SystemClock
    from opsbook.runtime import default_node_id

    cfg = open_config(config)
    db = open_database(cfg)
    status = err_console.status(progress) if progress else contextlib.nullcontext()
    try:
        with status as spinner:
            ctx = BackupContext(
                cfg, db, SystemClock(), default_node_id(), actor="cli", redactor=cfg.redactor
            )
            if spinner is not None:
                ctx.progress = lambda n: spinner.update(f"{progress} {format_size(n)} written")
            yield ctx
    finally:
        db.dispose()


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="The backup target's name.")],
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Back up a target now, verify it, and prune old backups. Exit 1 when it fails."""
    from opsbook.backups.run import run_backup
    from opsbook.backups.schema import backup_json

    with _context(config, progress=f"backing up {name}…") as ctx:
        backup = run_backup(ctx, name)
    data = backup_json(backup)
    if json:
        emit_json({"backup": data})
    elif backup.status == "ok":
        console.print(
            f"backup #{backup.id} of {name}: {format_size(backup.size_bytes)} in "
            f"{backup.duration_seconds or 0:.1f}s, verified, at {escape(backup.location or '')}"
        )
        _print_offsite(backup)
    else:
        console.print(f"[red]backup #{backup.id} of {name} failed:[/] {escape(backup.error)}")
    if backup.status != "ok":
        raise typer.Exit(1)


@app.command("list")
def list_command(
    target: Annotated[str | None, typer.Option("--target", help="Only this target.")] = None,
    include_pruned: Annotated[
        bool, typer.Option("--all", help="Include backups pruned by retention.")
    ] = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Backups newest first: status, size, checksum, verification and the last restore test."""
    from opsbook.backups import service
    from opsbook.backups.schema import backups_json

    cfg = open_config(config)
    if target is not None:
        service.target_config(cfg, target)
    db = open_database(cfg)
    try:
        with db.read() as session:
            items = backups_json(session, target, include_pruned=include_pruned)
    finally:
        db.dispose()
    if json:
        emit_json({"backups": items})
        return
    table = Table(
        "id",
        "target",
        "finished",
        "status",
        "size",
        "verified",
        "off-site",
        "restore test",
        "error",
    )
    for item in items:
        test = item["last_restore_test"]
        offsite = item["offsite"]
        table.add_row(
            str(item["id"]),
            item["target"],
            f"{item['finished_at']:%Y-%m-%d %H:%M}Z" if item["finished_at"] else "-",
            item["status"] + (" (pruned)" if item["pruned_at"] else ""),
            format_size(item["size_bytes"]),
            {True: "yes", False: "[red]no[/]", None: "-"}[item["verified"]],
            _offsite_cell(offsite["status"]) if offsite else "-",
            f"{test['status']} {test['restore_seconds'] or 0:.1f}s" if test else "-",
            escape((item["error"] or (offsite or {}).get("error") or "")[:80]),
        )
    console.print(table)


def _offsite_cell(status: str) -> str:
    return {"ok": "yes", "failed": "[red]failed[/]", "pending": "[yellow]pending[/]"}.get(
        status, status
    )


def _print_offsite(backup: Any) -> None:
    if backup.offsite_status == "ok":
        console.print(f"  copied off-site and read back: {escape(backup.offsite_location or '')}")
    elif backup.offsite_status == "failed":
        console.print(
            f"  [red]off-site copy failed[/] (the backup is good; the next run retries): "
            f"{escape(backup.offsite_error)}"
        )


@app.command("offsite")
def offsite_command(
    ref: Annotated[
        str,
        typer.Argument(
            help="A backup id to copy (again), or a target name for every copy it still owes."
        ),
    ],
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Copy backups to the target's `offsite` store now and read each copy back. Exit 1 when a
    copy fails."""
    from opsbook.backups.offsite import copy_ref
    from opsbook.backups.schema import backup_json

    with _context(config, progress=f"copying {ref} off-site…") as ctx:
        backups = copy_ref(ctx, ref)
    if json:
        emit_json({"backups": [backup_json(b) for b in backups]})
    else:
        if not backups:
            console.print(f"{escape(ref)}: no off-site copy is owed")
        for backup in backups:
            console.print(f"backup #{backup.id} of {backup.target}:")
            _print_offsite(backup)
    if any(b.offsite_status != "ok" for b in backups):
        raise typer.Exit(1)


@app.command("verify")
def verify_command(ref: Ref, config: ConfigOption = None, json: JsonOption = False) -> None:
    """Check a backup's checksum and read it back (pg_restore --list, integrity check, tar)."""
    from opsbook.backups.schema import backup_json
    from opsbook.backups.verify import verify_backup

    with _context(config, progress=f"verifying {ref}…") as ctx:
        backup = verify_backup(ctx, ref)
    if json:
        emit_json({"backup": backup_json(backup)})
    elif backup.verified:
        console.print(f"backup #{backup.id}: checksum and contents verified")
    else:
        console.print(
            f"[red]backup #{backup.id} failed verification:[/] {escape(backup.verify_error)}"
        )
    if not backup.verified:
        raise typer.Exit(1)


@app.command("restore-test")
def restore_test_command(ref: Ref, config: ConfigOption = None, json: JsonOption = False) -> None:
    """Restore a backup into a scratch database, compare row counts, run the smoke queries,
    drop it, and record the time against the RTO. Exit 1 when the backup does not restore."""
    from opsbook.backups.restore import restore_test
    from opsbook.backups.schema import restore_test_json

    with _context(config, progress=f"restore-testing {ref}…") as ctx:
        test = restore_test(ctx, ref)
    if json:
        emit_json({"restore_test": restore_test_json(test)})
    else:
        rto = (
            ""
            if test.within_rto is None
            else (" within RTO" if test.within_rto else " [red]over RTO[/]")
        )
        verdict = "passed" if test.status == "passed" else "[red]failed[/]"
        console.print(
            f"restore test #{test.id} of backup #{test.backup_id} {verdict} in "
            f"{test.restore_seconds or 0:.1f}s{rto}"
        )
        for name, (expected, found) in test.counts.items():
            console.print(f"  {escape(name)}: {expected} rows at backup time, {found} restored")
        if test.error:
            console.print(escape(test.error))
    if test.status != "passed":
        raise typer.Exit(1)


@app.command("restore")
def restore_command(
    ref: Ref,
    to: Annotated[
        str,
        typer.Option("--to", help="New database URL (postgres), file (sqlite) or folder (files)."),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Restore a backup into a new (or empty) database, file or folder."""
    from opsbook.backups.restore import restore_backup

    if not yes:
        typer.confirm(f"Restore {ref} to {to}?", abort=True)
    with _context(config, progress=f"restoring {ref}…") as ctx:
        where = restore_backup(ctx, ref, to)
    console.print(f"restored {ref} to {escape(where)}")


@app.command("prune")
def prune_command(
    target: Annotated[str | None, typer.Argument(help="Only this target.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted, delete nothing.")
    ] = False,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Apply the retention policy: delete backups, and off-site copies, it does not keep (never
    the newest verified one)."""
    from opsbook.backups.prune import prune
    from opsbook.backups.schema import decision_json

    with _context(config) as ctx:
        decisions = prune(ctx, target, dry_run=dry_run)
    if json:
        emit_json({"dry_run": dry_run, "decisions": [decision_json(d) for d in decisions]})
        return
    table = Table("id", "target", "copy", "finished", "status", "decision", "why kept")
    for d in decisions:
        verdict = (
            "keep" if d.keep else ("[yellow]would delete[/]" if dry_run else "[red]deleted[/]")
        )
        table.add_row(
            str(d.backup_id),
            d.target,
            d.copy,
            f"{d.finished_at:%Y-%m-%d %H:%M}Z" if d.finished_at else "-",
            d.status,
            verdict,
            escape(", ".join(d.reasons)),
        )
    console.print(table)
