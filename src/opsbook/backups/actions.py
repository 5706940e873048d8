"""Built-in actions for runbooks and schedules: `backup TARGET`, `backup verify ID|TARGET`,
`backup restore-test ID|TARGET`, `backup prune [TARGET] [--dry-run]`,
`backup offsite ID|TARGET`, `backup restore ID|TARGET --to URL` (dangerous: needs
confirmation)."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator

from opsbook.actions import Action, ActionContext, ActionRegistry, ActionResult
from opsbook.backups import schema
from opsbook.backups.context import BackupContext
from opsbook.backups.model import BackupStatus, OffsiteStatus
from opsbook.backups.offsite import copy_ref
from opsbook.backups.prune import prune
from opsbook.backups.restore import restore_backup, restore_test
from opsbook.backups.run import run_backup
from opsbook.backups.verify import verify_backup
from opsbook.errors import ConflictError, UsageError
from opsbook.storage import Database


@contextlib.contextmanager
def backup_context(ctx: ActionContext) -> Iterator[BackupContext]:
    db = ctx.db or Database(ctx.config.database_url)
    try:
        yield BackupContext(
            config=ctx.config,
            db=db,
            clock=ctx.clock,
            node_id=f"{socket.gethostname()}:{os.getpid()}",
            actor=ctx.actor,
            redactor=ctx.redactor,
        )
    finally:
        if ctx.db is None:
            db.dispose()


def _one(args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise UsageError(f"usage: {usage}")
    return args[0]


def _run(args: list[str], ctx: ActionContext) -> ActionResult:
    name = _one(args, "backup TARGET")
    with backup_context(ctx) as bctx:
        backup = run_backup(bctx, name)
    data = schema.backup_json(backup)
    ok = backup.status == BackupStatus.OK.value
    text = f"backup #{backup.id} of {name}: {backup.status}"
    text += f", {backup.size_bytes} bytes, verified" if ok else f": {backup.error}"
    return ActionResult(ok=ok, output=text, data=data)


def _verify(args: list[str], ctx: ActionContext) -> ActionResult:
    ref = _one(args, "backup verify ID|TARGET")
    with backup_context(ctx) as bctx:
        backup = verify_backup(bctx, ref)
    verdict = "passed" if backup.verified else f"failed: {backup.verify_error}"
    return ActionResult(
        ok=bool(backup.verified),
        output=f"verification of backup #{backup.id} {verdict}",
        data=schema.backup_json(backup),
    )


def _restore_test(args: list[str], ctx: ActionContext) -> ActionResult:
    ref = _one(args, "backup restore-test ID|TARGET")
    with backup_context(ctx) as bctx:
        test = restore_test(bctx, ref)
    text = f"restore test #{test.id} of backup #{test.backup_id} {test.status} in "
    text += f"{test.restore_seconds or 0:.1f}s" + (f": {test.error}" if test.error else "")
    return ActionResult(
        ok=test.status == "passed", output=text, data=schema.restore_test_json(test)
    )


def _offsite(args: list[str], ctx: ActionContext) -> ActionResult:
    ref = _one(args, "backup offsite ID|TARGET")
    with backup_context(ctx) as bctx:
        backups = copy_ref(bctx, ref)
    failed = [b for b in backups if b.offsite_status != OffsiteStatus.OK.value]
    text = f"{len(backups) - len(failed)} off-site copy(ies) made and read back"
    text += "".join(f"; #{b.id} failed: {b.offsite_error}" for b in failed)
    return ActionResult(
        ok=not failed, output=text, data={"backups": [schema.backup_json(b) for b in backups]}
    )


def _prune(args: list[str], ctx: ActionContext) -> ActionResult:
    dry_run = "--dry-run" in args or ctx.dry_run
    rest = [a for a in args if a != "--dry-run"]
    if len(rest) > 1:
        raise UsageError("usage: backup prune [TARGET] [--dry-run]")
    with backup_context(ctx) as bctx:
        decisions = prune(bctx, rest[0] if rest else None, dry_run=dry_run)
    gone = [d for d in decisions if not d.keep]
    verb = "would delete" if dry_run else "deleted"
    text = f"{verb} {len(gone)} backup(s): " + (
        ", ".join(f"#{d.backup_id}" for d in gone) or "none"
    )
    return ActionResult(
        ok=True, output=text, data={"decisions": [schema.decision_json(d) for d in decisions]}
    )


def _restore(args: list[str], ctx: ActionContext) -> ActionResult:
    if len(args) != 3 or args[1] != "--to":
        raise UsageError("usage: backup restore ID|TARGET --to URL")
    if not ctx.yes and not ctx.dry_run:
        raise ConflictError("backup restore writes a database or folder; confirm it first")
    if ctx.dry_run:
        return ActionResult(ok=True, output=f"would restore {args[0]} to {args[2]}")
    with backup_context(ctx) as bctx:
        where = restore_backup(bctx, args[0], args[2])
    return ActionResult(ok=True, output=f"restored to {where}", data={"restored_to": where})


ACTIONS: list[tuple[str, Callable[[list[str], ActionContext], ActionResult], str, bool]] = [
    ("backup", _run, "Back up a target, verify it and prune old backups", False),
    ("backup run", _run, "Back up a target, verify it and prune old backups", False),
    ("backup verify", _verify, "Check a backup's checksum and read it back", False),
    ("backup restore-test", _restore_test, "Restore a backup into scratch and check it", False),
    ("backup offsite", _offsite, "Copy backups off-site now and read the copies back", False),
    ("backup prune", _prune, "Delete backups the retention policy does not keep", False),
    ("backup restore", _restore, "Restore a backup to a new database or folder", True),
]


def register_actions(registry: ActionRegistry) -> None:
    for name, run, summary, dangerous in ACTIONS:
        registry.register(Action(name, run, summary, dangerous=dangerous))
