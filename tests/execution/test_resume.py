from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from opsbook.errors import ConflictError
from opsbook.execution import service
from opsbook.execution.model import RunStatus
from opsbook.runtime import Runtime
from tests.execution.conftest import request, run_data, runbook, start, step

ROOT = Path(__file__).resolve().parents[2]


def _book(flag: Path):  # type: ignore[no-untyped-def]
    return runbook(
        step(1, "KEPT=from-step-1; cd /tmp; echo one"),
        step(2, f'echo "KEPT=$KEPT"; if [ ! -e {flag} ]; then echo waiting; sleep 120; fi'),
        step(3, 'echo "three $KEPT $(pwd)"'),
    )


RUNNER = """
import asyncio, os, sys
from pathlib import Path
from opsbook.clock import SystemClock
from opsbook.config import config_from_data
from opsbook.execution import service
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.execution.conftest import request
from tests.execution.test_resume import _book

base, url, flag = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config = config_from_data({"execution": {"heartbeat_interval": "1s"}}, base_dir=base)
runtime = Runtime(config=config, db=Database(url), clock=SystemClock())
asyncio.run(service.start(runtime, request(_book(flag)), environ=dict(os.environ)))
"""


def test_kill_9_of_the_runner_mid_step_then_resume(runtime: Runtime, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    url = runtime.db.url
    runner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RUNNER), str(tmp_path), url, str(flag)], cwd=ROOT
    )
    try:
        run_id, pgid = _wait_for_step_2(runtime)
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert psutil.pid_exists(pgid)  # the step outlived its runner ...
    with runtime.db.write() as session:
        assert service.reconcile(session, runtime.clock, runtime.config) == [run_id]
    _wait_gone(pgid)  # ... until the dead run was noticed
    data = run_data(runtime, run_id)
    assert data["status"] == "interrupted"
    assert [s["status"] for s in data["steps"]] == ["ok", "interrupted", "pending"]

    flag.touch()
    outcome = asyncio.run(service.resume(runtime, run_id, runbook=_book(flag)))
    data = run_data(runtime, run_id)
    assert outcome.status is RunStatus.OK
    assert data["steps"][1]["output"] == "KEPT=from-step-1\n"
    assert data["steps"][2]["output"] == "three from-step-1 /tmp\n"
    assert [s["attempts"] for s in data["steps"]] == [1, 2, 1]


def _wait_for_step_2(runtime: Runtime) -> tuple[int, int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with runtime.db.read() as session:
            runs = service.list_runs(session)
            if runs:
                run_id = runs[0]["run_id"]
                feed = service.output_since(session, run_id)
                step = service.get(session, run_id, output=False)["steps"][1]
                pgid = service.store.get_step(session, run_id, 2).pgid
                if (
                    step["status"] == "running"
                    and pgid
                    and any("waiting" in f["text"] for f in feed)
                ):
                    return run_id, pgid
        time.sleep(0.05)
    raise AssertionError("step 2 never started")


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


def test_resume_refuses_when_the_procedure_changed_unless_forced(
    runtime: Runtime, tmp_path: Path
) -> None:
    book = runbook(step(1, "echo one"), step(2, "false"))
    first = start(runtime, request(book))
    changed = runbook(step(1, "echo one"), step(2, "echo fixed"))
    with pytest.raises(ConflictError, match=r"changed .* --force"):
        asyncio.run(service.resume(runtime, first.run_id, runbook=changed))
    outcome = asyncio.run(service.resume(runtime, first.run_id, runbook=changed, force=True))
    assert outcome.status is RunStatus.OK


def test_a_finished_run_cannot_be_resumed(runtime: Runtime) -> None:
    book = runbook(step(1, "true"))
    first = start(runtime, request(book))
    with pytest.raises(ConflictError, match="finished ok"):
        asyncio.run(service.resume(runtime, first.run_id, runbook=book))


def test_values_given_to_resume_beat_the_saved_state(runtime: Runtime) -> None:
    book = runbook(
        step(1, "export TARGET=${TARGET:-old}"), step(2, 'echo "$TARGET"; [ "$TARGET" = new ]')
    )
    first = start(runtime, request(book))
    assert first.status is RunStatus.FAILED
    env = {"PATH": os.environ["PATH"]}
    outcome = asyncio.run(
        service.resume(
            runtime, first.run_id, runbook=book, variables={"TARGET": "new"}, environ=env
        )
    )
    assert outcome.status is RunStatus.OK
