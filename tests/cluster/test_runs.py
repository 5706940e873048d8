"""Runs across nodes: the shell state sealed in the store so another machine resumes a run, and
a process that lost its run (paused while another node took it) writes nothing more."""

from __future__ import annotations

import asyncio
import shutil
import stat
from pathlib import Path

import pytest
from sqlalchemy import update

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.errors import ConfigError, ConflictError
from opsbook.execution import service, store
from opsbook.execution.model import RunStatus
from opsbook.execution.tables import RunRow, RunStateRow
from opsbook.execution.vault import StateVault
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.execution.conftest import request, run_data, runbook, start, step

KEY = "a-state-key-shared-by-every-node"


def _runtime(db: Database, base: Path, clock: FakeClock, key: str | None = KEY) -> Runtime:
    cluster = {"state_key": key} if key else {}
    config = config_from_data(
        {"execution": {"heartbeat_interval": "1s"}, "cluster": cluster}, base_dir=base
    )
    return Runtime(config=config, db=db, clock=clock, node_id=base.name)


def _book(flag: Path):  # type: ignore[no-untyped-def]
    return runbook(
        step(1, "KEPT=from-step-1; cd /tmp; echo one"),
        step(2, f'echo "KEPT=$KEPT"; test -e {flag}'),
        step(3, 'echo "three $KEPT $(pwd) $TOKEN"'),
    )


def _ran_on_a_machine_that_died(runtime: Runtime, run_id: int) -> None:
    with runtime.db.write() as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(owner_host="machine-a"))
    shutil.rmtree(runtime.config.data_dir / "runs" / str(run_id))


def test_another_machine_resumes_a_run_with_its_shell_state_from_the_store(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    flag = tmp_path / "flag"
    first = _runtime(db, tmp_path / "a", clock)
    req = request(_book(flag), variables={"TOKEN": "s3cret-value"}, secret_names={"TOKEN"})
    outcome = start(first, req)
    assert outcome.status is RunStatus.FAILED
    _ran_on_a_machine_that_died(first, outcome.run_id)
    with db.read() as s:
        sealed = s.get(RunStateRow, outcome.run_id)
        assert sealed is not None and sealed.state and sealed.inputs
        assert b"from-step-1" not in sealed.state and b"s3cret-value" not in sealed.inputs

    second = _runtime(db, tmp_path / "b", clock)
    flag.touch()
    resumed = asyncio.run(service.resume(second, outcome.run_id, runbook=_book(flag)))
    data = run_data(second, outcome.run_id)
    assert resumed.status is RunStatus.OK
    assert data["steps"][1]["output"] == "KEPT=from-step-1\n"
    assert data["steps"][2]["output"] == "three from-step-1 /tmp ••••••\n"  # the secret, masked
    local = second.config.data_dir / "runs" / str(outcome.run_id)
    assert stat.S_IMODE(local.stat().st_mode) == 0o700
    assert stat.S_IMODE((local / "state.sh").stat().st_mode) == 0o600
    assert "s3cret-value" not in str(data)


def test_without_a_state_key_another_machine_is_told_where_the_run_can_resume(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    flag = tmp_path / "flag"
    first = _runtime(db, tmp_path / "a", clock, key=None)
    outcome = start(first, request(_book(flag)))
    _ran_on_a_machine_that_died(first, outcome.run_id)
    second = _runtime(db, tmp_path / "b", clock, key=None)
    with pytest.raises(ConflictError, match=r"resume it on machine-a, or set cluster.state_key"):
        asyncio.run(service.resume(second, outcome.run_id, runbook=_book(flag)))


def test_sealed_state_opens_only_with_the_same_key_and_for_its_own_run() -> None:
    vault = StateVault(KEY)
    blob = vault.seal(7, "state", b"X=1")
    assert vault.unseal(7, "state", blob) == b"X=1"
    with pytest.raises(ConfigError, match="every node needs the same key"):
        StateVault("another-key-of-sixteen").unseal(7, "state", blob)
    with pytest.raises(ConfigError):
        vault.unseal(8, "state", blob)  # moved to another run


def test_a_process_that_lost_its_run_writes_nothing_more(
    sqlite_db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    gate, after = tmp_path / "gate", tmp_path / "step-3-ran"
    book = runbook(
        step(1, "echo one"),
        step(2, f"while [ ! -e {gate} ]; do sleep 0.02; done; echo two"),
        step(3, f"touch {after}"),
    )
    runtime = _runtime(sqlite_db, tmp_path / "a", clock, key=None)

    async def scenario() -> RunStatus:
        env = {"PATH": "/usr/bin:/bin"}
        running = asyncio.create_task(service.start(runtime, request(book), environ=env))
        run_id = await _step_running(runtime, 2)
        # Meanwhile this process was paused; the cluster declared the run interrupted and
        # another node resumed it.
        with sqlite_db.write() as s:
            run = store.get_run(s, run_id)
            store.mark_interrupted(s, clock, run, "its node is dead")
            assert store.claim(
                s,
                clock,
                run_id,
                host="machine-b",
                pid=4242,
                started=1.0,
                from_statuses=[RunStatus.INTERRUPTED],
            )
        gate.touch()
        return (await running).status

    assert asyncio.run(scenario()) is RunStatus.INTERRUPTED
    assert not after.exists()
    with sqlite_db.read() as s:
        run = store.get_run(s, 1)
        assert (run.status, run.owner_host) == (RunStatus.RUNNING, "machine-b")
        assert [st.status for st in store.steps_of(s, 1)] == ["ok", "interrupted", "pending"]


async def _step_running(runtime: Runtime, number: int) -> int:
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        with runtime.db.read() as s:
            runs = store.list_runs(s)
            if runs and store.get_step(s, runs[0].id, number).status == "running":
                return runs[0].id
        await asyncio.sleep(0.02)
    raise AssertionError(f"step {number} never started")
