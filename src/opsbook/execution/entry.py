"""Running a procedure named by reference (`runbooks/db.md#vacuum`, `ops.md#Procedure/Part`) to its
end without a terminal: for the scheduler's job child and for scripts.

    from opsbook.execution.entry import run_reference
    sys.exit(run_reference("runbooks/db.md#vacuum", operator="scheduler"))

Nobody is there to confirm anything: steps that need confirmation wait (the run is `waiting`,
status 1) unless `yes=True`. Step output is written to stdout as it arrives, so a job's log
holds it; SIGTERM or SIGINT kill the running step's processes and end the run `interrupted`.
Exit status: 0 every step ok, 1 a step failed or the run waits, 2 bad input or preflight, 130
interrupted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from opsbook.config import load_config
from opsbook.errors import InputError, NotFoundError, OpsbookError
from opsbook.execution import service
from opsbook.execution.model import RunOptions, RunRequest, RunStatus
from opsbook.execution.process import use_pidfd_child_watcher
from opsbook.execution.select import find
from opsbook.execution.tables import RunStepRow
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.storage.migrate import pending_revisions, upgrade

EXIT_STATUS = {
    RunStatus.OK: 0,
    RunStatus.FAILED: 1,
    RunStatus.WAITING: 1,
    RunStatus.INTERRUPTED: 130,
}


class PlainListener:
    """Step headers, output and results as plain lines (a job log, not a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def step_started(self, step: RunStepRow) -> None:
        self.out.write(f"== step {step.number}: {step.title}\n")
        self.out.flush()

    def output(self, number: int, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def step_finished(self, step: RunStepRow) -> None:
        why = f": {step.error}" if step.error else ""
        self.out.write(f"\n== step {step.number} {step.status}{why}\n")
        self.out.flush()


def split_reference(reference: str) -> tuple[Path, str]:
    """`path#procedure` as (path, procedure); the procedure may be `Procedure/Part`."""
    path, sep, name = reference.rpartition("#")
    if not sep or not path or not name:
        raise InputError(f"{reference!r}: write RUNBOOK#PROCEDURE, e.g. runbooks/db.md#vacuum")
    return Path(path), name


def run_reference(
    reference: str,
    *,
    config_path: str | Path | None = None,
    operator: str = "scheduler",
    yes: bool = False,
    variables: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the procedure `reference` names to its end; returns the exit status (see above)."""
    out = out or sys.stdout
    try:
        runtime = _runtime(config_path)
    except OpsbookError as exc:
        out.write(f"error: {exc}\n")
        return 2
    try:
        return _run(
            runtime, reference, operator=operator, yes=yes, variables=dict(variables or {}), out=out
        )
    except service.PreflightFailed as exc:
        for problem in exc.preflight.problems:
            out.write(f"preflight: {problem.kind} {problem.name}: {problem.message}\n")
        return 2
    except (InputError, NotFoundError) as exc:
        out.write(f"error: {exc}\n")
        return 2
    except OpsbookError as exc:
        out.write(f"error: {exc}\n")
        return 1
    finally:
        runtime.db.dispose()


def _runtime(config_path: str | Path | None) -> Runtime:
    config = load_config(config_path)
    db = Database(config.database_url)
    if pending_revisions(db):
        upgrade(db)
    return Runtime(config=config, db=db)


def _run(
    runtime: Runtime,
    reference: str,
    *,
    operator: str,
    yes: bool,
    variables: dict[str, str],
    out: TextIO,
) -> int:
    from opsbook.runbook.parse import parse_file
    from opsbook.runtime import action_registry

    path, name = split_reference(reference)
    book = parse_file(runtime.config.resolve_path(path) if not path.is_absolute() else path)
    selection = find(book, name)
    request = RunRequest(
        runbook=book,
        procedure=selection.procedure,
        steps=selection.steps,
        part=selection.part.title if selection.part else "",
        variables=variables,
        operator=operator,
        options=RunOptions(yes=yes, cwd=os.getcwd()),
    )
    followers = service.Followers(listener=PlainListener(out))

    async def main() -> service.RunOutcome:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, followers.stop.set)
        return await service.start(runtime, request, actions=action_registry(), followers=followers)

    use_pidfd_child_watcher()
    outcome = asyncio.run(main())
    with runtime.db.read() as session:
        data = service.get(session, outcome.run_id, output=False)
    reason = f": {data['stop_reason']}" if data["stop_reason"] else ""
    out.write(f"run {outcome.run_id} {outcome.status}{reason}\n")
    return EXIT_STATUS[outcome.status]
