"""`python -m opsbook.scheduler.action_child LINE`: run one built-in action as a job's process.

The scheduler starts actions in a child of their own so a job's timeout can kill the action
and every tool it started (pg_dump, pg_restore, ...) as one process group. The child reads the
same config ($OPSBOOK_CONFIG) and store ($OPSBOOK_DATABASE_URL) as the scheduler.
Exit status: 0 the action succeeded, 1 it failed, 2 bad input.
"""

from __future__ import annotations

import os
import sys

from opsbook.actions import ActionContext
from opsbook.clock import SystemClock
from opsbook.config import load_config
from opsbook.errors import InputError, NotFoundError, OpsbookError
from opsbook.storage import Database


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        sys.stderr.write("usage: python -m opsbook.scheduler.action_child 'ACTION LINE'\n")
        return 2
    from opsbook.runtime import action_registry

    try:
        config = load_config()
        db = Database(config.database_url)
        try:
            ctx = ActionContext(
                config=config,
                clock=SystemClock(),
                redactor=config.redactor,
                db=db,
                env=dict(os.environ),
                yes=True,  # the operator configured this job; that is the confirmation
                actor=f"scheduler:{os.environ.get('OPSBOOK_JOB', 'job')}",
            )
            result = action_registry().run(argv[0], ctx)
        finally:
            db.dispose()
    except OpsbookError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2 if isinstance(exc, InputError | NotFoundError) else 1
    if result.output:
        sys.stdout.write(result.output.rstrip("\n") + "\n")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
