"""`python -m opsbook.scheduler.procedure_child [--yes] PATH#PROCEDURE`: a runbook procedure as
a job's process.

The procedure runs through the execution service (`opsbook.execution.entry.run_reference`),
never a copy of it, in a child of its own so the job's timeout kills the run and its steps as
one process group. The run is stored like any other (`opsbook runs`), its steps' output goes to
stdout (the job's output), and the job's `env` reaches the steps as environment variables.
`--yes` confirms the procedure's gated steps in advance (the job's `confirm: true`); without
it a step that needs confirmation stops the run, and the job fails.
The child reads the same config ($OPSBOOK_CONFIG) and store ($OPSBOOK_DATABASE_URL) as the
scheduler. Exit status: 0 every step ok, 1 a step failed or waits for confirmation, 2 bad
input, 130 interrupted.
"""

from __future__ import annotations

import os
import sys

USAGE = "usage: python -m opsbook.scheduler.procedure_child [--yes] PATH#PROCEDURE\n"


def main(argv: list[str]) -> int:
    yes = "--yes" in argv
    rest = [arg for arg in argv if arg != "--yes"]
    if len(rest) != 1 or "#" not in rest[0]:
        sys.stderr.write(USAGE)
        return 2
    from opsbook.execution.entry import run_reference

    operator = f"scheduler:{os.environ.get('OPSBOOK_JOB', 'job')}"
    return run_reference(rest[0], operator=operator, yes=yes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
