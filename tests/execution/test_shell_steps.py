from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

from opsbook.execution.model import RunStatus
from opsbook.runbook.model import Parameter
from opsbook.runtime import Runtime
from tests.execution.conftest import Recorder, request, run_data, runbook, start, step


def test_shell_state_carries_variables_functions_and_directory(
    runtime: Runtime, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    book = runbook(
        step(
            1,
            f'PLAIN="a b"; export EXPORTED=x; greet() {{ echo "hi $1"; }}\ncd {work}',
        ),
        step(
            2,
            'echo "plain=$PLAIN exported=$EXPORTED"; greet bob; pwd\n'
            "bash -c 'echo \"child sees ${EXPORTED:-nothing} ${PLAIN:-nothing}\"'",
        ),
    )
    outcome = start(runtime, request(book))
    assert outcome.status is RunStatus.OK
    output = run_data(runtime, outcome.run_id)["steps"][1]["output"]
    assert output.splitlines() == [
        "plain=a b exported=x",
        "hi bob",
        str(work),
        "child sees x nothing",
    ]


def test_the_saved_state_is_private_to_the_operator(runtime: Runtime) -> None:
    outcome = start(runtime, request(runbook(step(1, "X=1"))))
    run_dir = runtime.config.data_dir / "runs" / str(outcome.run_id)
    assert (run_dir.stat().st_mode & 0o777) == 0o700
    assert ((run_dir / "state.sh").stat().st_mode & 0o777) == 0o600


def test_a_timeout_kills_the_whole_process_group(runtime: Runtime, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = (
        f"sleep 300 & echo $! >> {pids}\n"
        f"( sleep 300 & echo $! >> {pids}; wait ) &\n"
        f"echo $$ >> {pids}\nwait"
    )
    book = runbook(step(1, code, attrs={"timeout": "1s"}))
    began = time.monotonic()
    outcome = start(runtime, request(book))
    assert time.monotonic() - began < 10
    data = run_data(runtime, outcome.run_id)
    assert (outcome.status, data["steps"][0]["status"]) == (RunStatus.FAILED, "timed_out")
    assert "timed out after 1s" in data["steps"][0]["error"]
    left = [int(p) for p in pids.read_text().split() if psutil.pid_exists(int(p))]
    assert [p for p in left if psutil.Process(p).status() != psutil.STATUS_ZOMBIE] == []


def test_an_endless_loop_ends_at_its_timeout_with_stdin_not_a_terminal(runtime: Runtime) -> None:
    book = runbook(
        step(
            1,
            "[ -t 0 ] && echo tty || echo no-tty\nwhile true; do sleep 0.1; done",
            interactive=("endless loop",),
            attrs={"timeout": "1"},
        )
    )
    outcome = start(runtime, request(book))
    data = run_data(runtime, outcome.run_id)
    assert data["steps"][0]["status"] == "timed_out"
    assert data["steps"][0]["output"].startswith("no-tty\n")


def test_a_failed_step_stops_the_run_and_says_why(runtime: Runtime) -> None:
    book = runbook(
        step(1, "echo fine"),
        step(2, "echo 'psql: error: connection refused' >&2; exit 3"),
        step(3, "echo never"),
    )
    recorder = Recorder()
    outcome = start(runtime, request(book), followers=_followers(recorder))
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.FAILED
    assert [s["status"] for s in data["steps"]] == ["ok", "failed", "pending"]
    assert data["steps"][1]["exit_code"] == 3
    assert data["steps"][1]["error"] == "exit 3: psql: error: connection refused"
    assert data["stop_reason"].startswith("step 2 failed")
    assert recorder.finished == [(1, "ok"), (2, "failed")]


def test_continue_on_error_runs_every_step_and_still_fails(runtime: Runtime) -> None:
    book = runbook(step(1, "false"), step(2, "echo after"))
    outcome = start(runtime, request(book, opts={"continue_on_error": True}))
    data = run_data(runtime, outcome.run_id)
    assert outcome.status is RunStatus.FAILED
    assert [s["status"] for s in data["steps"]] == ["failed", "ok"]
    assert data["stop_reason"] == "step 1 failed: exit 1: no output"


def test_a_command_failing_mid_step_fails_the_step(runtime: Runtime) -> None:
    outcome = start(runtime, request(runbook(step(1, "false\necho carried on"))))
    assert outcome.status is RunStatus.FAILED


def test_a_read_prompt_takes_the_value_given_before_the_run(runtime: Runtime) -> None:
    ask = Parameter(name="TARGET", prompt="Target host: ", line=10)
    book = runbook(
        step(1, 'read -p "Target host: " TARGET\necho "target=$TARGET"', parameters=(ask,))
    )
    outcome = start(runtime, request(book, variables={"TARGET": "db-2"}))
    assert run_data(runtime, outcome.run_id)["steps"][0]["output"] == "target=db-2\n"


def test_an_injection_through_a_variable_stays_inert(runtime: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    value = f"$(touch {marker}); `touch {marker}`"
    book = runbook(
        step(1, 'echo "host=$HOST"', variables=("HOST",)), step(2, "echo $HOST; eval_safe=1")
    )
    outcome = start(runtime, request(book, variables={"HOST": value}))
    assert outcome.status is RunStatus.OK
    assert not marker.exists()
    assert run_data(runtime, outcome.run_id)["steps"][0]["output"] == f"host={value}\n"


def test_output_is_stored_capped_keeping_head_and_tail(runtime: Runtime, tmp_path: Path) -> None:
    from opsbook.config import config_from_data

    runtime.config = config_from_data({"execution": {"output_limit": 2000}}, base_dir=tmp_path)
    book = runbook(step(1, "echo FIRST; for i in $(seq 1 5000); do echo line $i; done; echo LAST"))
    outcome = start(runtime, request(book))
    out = run_data(runtime, outcome.run_id)["steps"][0]
    assert out["output"].startswith("FIRST\nline 1\n")
    assert out["output"].rstrip().endswith("line 5000\nLAST")
    assert "characters of output not kept" in out["output"]
    assert len(out["output"]) < 2200
    assert out["output_bytes"] > 40000


def _followers(recorder: Recorder):  # type: ignore[no-untyped-def]
    from opsbook.execution.service import Followers

    return Followers(listener=recorder)


def test_environment_is_the_runners_plus_given_values(runtime: Runtime) -> None:
    book = runbook(step(1, 'echo "$FROM_ENV $GIVEN"'))
    env = {"PATH": os.environ["PATH"], "FROM_ENV": "env"}
    outcome = start(runtime, request(book, variables={"GIVEN": "given"}), environ=env)
    assert run_data(runtime, outcome.run_id)["steps"][0]["output"] == "env given\n"
