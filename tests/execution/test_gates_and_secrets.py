from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import psutil

from opsbook.execution import service
from opsbook.execution.engine import Decision
from opsbook.execution.model import RunStatus
from opsbook.execution.service import Followers
from opsbook.journal.service import Subject, entries
from opsbook.runbook.model import Step, StepKind
from opsbook.runtime import Runtime
from opsbook.secrets import MASK
from tests.execution.conftest import request, run_data, runbook, start, step


def _dangerous_book(marker: Path):  # type: ignore[no-untyped-def]
    return runbook(
        step(1, "echo before"),
        step(2, f"touch {marker}", danger=("rm -rf",), title="Wipe cache"),
        step(3, "echo after"),
    )


def test_without_yes_the_run_stops_before_a_dangerous_step_and_it_waits(
    runtime: Runtime, tmp_path: Path
) -> None:
    marker = tmp_path / "done"
    outcome = start(runtime, request(_dangerous_book(marker)))
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.WAITING
    assert [s["status"] for s in data["steps"]] == ["ok", "waiting", "pending"]
    assert "step 2 (Wipe cache) needs confirmation: rm -rf" in data["stop_reason"]
    assert not marker.exists()


def test_yes_runs_a_dangerous_step_and_records_who_confirmed(
    runtime: Runtime, tmp_path: Path
) -> None:
    marker = tmp_path / "done"
    book = _dangerous_book(marker)
    outcome = start(runtime, request(book, operator="alice", opts={"yes": True}))
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.OK and marker.exists()
    assert data["steps"][1]["confirmed_by"] == "alice"
    with runtime.db.read() as session:
        actions = [e.action for e in entries(session, subject=Subject("run", str(outcome.run_id)))]
    assert "run.confirm" in actions


def test_a_waiting_step_confirmed_later_runs_on_resume(runtime: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "done"
    book = _dangerous_book(marker)
    first = start(runtime, request(book))
    with runtime.db.write() as session:
        service.confirm(session, runtime.clock, first.run_id, 2, actor="bob")
    outcome = asyncio.run(service.resume(runtime, first.run_id, runbook=book, operator="bob"))
    data = run_data(runtime, first.run_id)
    assert outcome.status is RunStatus.OK and marker.exists()
    assert [s["attempts"] for s in data["steps"]] == [1, 1, 1]
    assert data["steps"][1]["confirmed_by"] == "bob"


class Answers:
    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.asked: list[int] = []

    def gate(self, step: Step, reasons: list[str]) -> Decision:
        self.asked.append(step.number)
        return self.decision

    def manual(self, step: Step) -> Decision:
        self.asked.append(step.number)
        return self.decision


def test_an_interactive_operator_is_asked_and_may_skip(runtime: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "done"
    answers = Answers(Decision.SKIP)
    outcome = start(
        runtime, request(_dangerous_book(marker)), followers=Followers(prompter=answers)
    )
    data = run_data(runtime, outcome.run_id)
    assert answers.asked == [2]
    assert outcome.status is RunStatus.OK
    assert [s["status"] for s in data["steps"]] == ["ok", "skipped", "ok"]


def test_manual_steps_are_confirmed_and_reference_code_is_shown_not_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    book = runbook(
        step(1, "Tell the team in #ops", kind=StepKind.MANUAL),
        step(2, f"touch {marker}", kind=StepKind.REFERENCE),
    )
    answers = Answers(Decision.RUN)
    outcome = start(runtime, request(book, operator="carol"), followers=Followers(prompter=answers))
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.OK and not marker.exists()
    assert [(s["status"], s["confirmed_by"]) for s in data["steps"]] == [
        ("ok", "carol"),
        ("skipped", ""),
    ]
    assert data["steps"][1]["output"] == f"touch {marker}"


def test_a_secret_never_reaches_output_journal_or_any_argv(
    runtime: Runtime, tmp_path: Path
) -> None:
    secret = "hunter2-very-secret"
    book = runbook(
        step(1, 'echo "pw is $DB_PASSWORD"; PGPASSWORD=$DB_PASSWORD sleep 1.5; echo done'),
    )
    found: list[str] = []

    async def scan(stop: asyncio.Event) -> None:
        while not stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    if secret.encode() in cmdline.read_bytes():
                        found.append(str(cmdline))
                except OSError:
                    continue
            await asyncio.sleep(0.05)

    async def main() -> service.RunOutcome:
        stop = asyncio.Event()
        scanner = asyncio.create_task(scan(stop))
        env = {"PATH": os.environ["PATH"]}
        req = request(book, variables={"DB_PASSWORD": secret})
        try:
            return await service.start(runtime, req, environ=env)
        finally:
            stop.set()
            await scanner

    outcome = asyncio.run(main())
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.OK
    assert found == []
    assert data["steps"][0]["output"] == f"pw is {MASK}\ndone\n"
    assert data["variables"] == {"DB_PASSWORD": MASK}
    with runtime.db.read() as session:
        journal = [(e.summary, e.details) for e in entries(session, limit=1000)]
    assert secret not in repr(journal) and secret not in repr(data)


def test_a_cancel_request_interrupts_the_running_step(runtime: Runtime, tmp_path: Path) -> None:
    book = runbook(step(1, "echo started; sleep 60"), step(2, "echo never"))

    async def main() -> service.RunOutcome:
        task = asyncio.create_task(
            service.start(runtime, request(book), environ={"PATH": os.environ["PATH"]})
        )
        run_id = await _wait_for_output(runtime, "started")
        with runtime.db.write() as session:
            service.cancel(session, runtime.clock, run_id, actor="dave")
        return await asyncio.wait_for(task, 20)

    outcome = asyncio.run(main())
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.INTERRUPTED
    assert [s["status"] for s in data["steps"]] == ["interrupted", "pending"]
    assert data["stop_reason"] == "cancelled"


async def _wait_for_output(runtime: Runtime, text: str, timeout: float = 10) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        with runtime.db.read() as session:
            runs = service.list_runs(session)
            if runs:
                feed = service.output_since(session, runs[0]["run_id"])
                if any(text in piece["text"] for piece in feed):
                    return int(runs[0]["run_id"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no output {text!r} within {timeout}s")


def test_cancelling_the_task_running_a_run_kills_its_step_and_records_it(
    runtime: Runtime, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    book = runbook(step(1, f"sleep 60 & echo $! > {pids}; echo started; wait"))

    async def main() -> int:
        task = asyncio.create_task(
            service.start(runtime, request(book), environ={"PATH": os.environ["PATH"]})
        )
        run_id = await _wait_for_output(runtime, "started")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return run_id

    run_id = asyncio.run(main())
    data = run_data(runtime, run_id)
    assert (data["status"], data["steps"][0]["status"]) == ("interrupted", "interrupted")
    sleeper = int(pids.read_text())
    assert not psutil.pid_exists(sleeper) or psutil.Process(sleeper).status() == "zombie"
