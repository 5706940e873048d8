"""`python -m opsbook.scheduler.procedure_child PATH#ANCHOR`: run a runbook procedure as a job.

The procedure runs through the execution service (`opsbook.execution.service`), never a copy of
it, in a child process so the job's timeout can kill the run and its steps as one process group.
Exit status: 0 the run succeeded, 1 it failed, 2 bad input.
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 1 or "#" not in argv[0]:
        sys.stderr.write("usage: python -m opsbook.scheduler.procedure_child PATH#ANCHOR\n")
        return 2
    try:
        importlib.import_module("opsbook.execution.service")
    except ModuleNotFoundError:
        sys.stderr.write(
            "error: running a runbook procedure needs the execution service "
            "(opsbook.execution.service), which this installation does not have\n"
        )
        return 1
    sys.stderr.write("error: the execution service has no scheduler entry point yet\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
