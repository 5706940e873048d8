"""What the leading node does for the cluster, and `opsbook cluster status`."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from opsbook.checks.tables import CheckState
from opsbook.clock import FakeClock, SystemClock
from opsbook.cluster import service, upkeep
from opsbook.cluster.leadership import Leadership
from opsbook.cluster.tables import NodeRow
from opsbook.config import config_from_data
from opsbook.execution.tables import RunRow
from opsbook.notify.tables import OutboxMessage
from opsbook.runtime import Runtime
from opsbook.scheduler import service as jobs
from opsbook.scheduler.tables import JobRun
from opsbook.storage import Database

HOURLY = {"name": "tick", "cron": "0 * * * *", "command": "echo hello"}


def _runtime(db: Database, tmp_path: Path, clock: FakeClock, **data: object) -> Runtime:
    return Runtime(config_from_data(dict(data), base_dir=tmp_path), db, clock, node_id="a")


def _two_nodes_then_b_dies(db: Database, clock: FakeClock) -> None:
    with db.write() as s:
        service.register(s, "a", clock.now(), 10)
        service.register(s, "b", clock.now(), 10).host = "machine-b"
    clock.advance(11)
    with db.write() as s:
        service.heartbeat(s, "a", clock.now())


def _run_row(host: str, pid: int, clock: FakeClock) -> RunRow:
    return RunRow(
        status="running",
        runbook_path="runbooks/ops.md",
        runbook_sha256="0" * 64,
        procedure="Restart",
        procedure_slug="restart",
        procedure_sha256="0" * 64,
        operator="alice",
        owner_host=host,
        owner_pid=pid,
        heartbeat_at=clock.now(),
        started_at=clock.now(),
    )


def test_the_leader_interrupts_a_dead_nodes_runs_and_retires_its_orphan_checks(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    runtime = _runtime(db, tmp_path, clock)
    _two_nodes_then_b_dies(db, clock)
    with db.write() as s:
        b = s.get(NodeRow, "b")
        assert b is not None
        run = _run_row("machine-b", b.pid, clock)
        run.heartbeat_at = clock.now()  # its heartbeat looks fresh: only the node is known dead
        s.add(run)
        for name, host in (("disk@machine-b", "machine-b"), ("disk@gone", "gone")):
            s.add(_check_row(name, host, clock))
    assert runtime.leadership.lead(db, clock)
    report = upkeep.ClusterUpkeep(runtime).tick()
    assert report is not None and report.interrupted_runs == [run.id]
    with db.read() as s:
        assert s.get(RunRow, run.id).status == "interrupted"  # type: ignore[union-attr]
        active = s.scalars(select(CheckState.name).where(CheckState.active.is_(True))).all()
    assert active == ["disk@machine-b"] and report.retired_checks == 1
    figures = {(x.name, x.labels.get("node")): x.value for x in report.samples}
    assert figures[("cluster_nodes", None)] == 1.0
    assert (figures[("cluster_node_up", "b")], figures[("cluster_leader", "a")]) == (0.0, 1.0)


def test_only_the_leader_does_the_upkeep(db: Database, tmp_path: Path, clock: FakeClock) -> None:
    leader, other = _runtime(db, tmp_path, clock), _runtime(db, tmp_path, clock)
    other.leadership = Leadership("b", 10)
    assert leader.leadership.lead(db, clock)
    assert not other.leadership.lead(db, clock)
    assert upkeep.ClusterUpkeep(other).tick() is None


def _check_row(name: str, host: str, clock: FakeClock) -> CheckState:
    return CheckState(
        name=name,
        type="disk",
        active=True,
        spec_hash="x",
        interval_seconds=60,
        timeout_seconds=10,
        next_due_at=clock.now(),
        claim_seq=0,
        status="unknown",
        failing=False,
        failures_in_row=0,
        successes_in_row=0,
        recent="",
        host=host,
    )


def test_a_job_run_of_a_dead_node_is_interrupted_without_waiting_for_its_heartbeat(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    from opsbook.scheduler.worker import SchedulerWorker

    runtime = _runtime(db, tmp_path, clock, schedules=[HOURLY])
    spec = runtime.config.settings.schedules[0]
    with db.write() as s:
        run = jobs.start_manual(s, spec, clock.now(), "b", "alice")
    _two_nodes_then_b_dies(db, clock)
    with db.write() as s:
        jobs.heartbeat(s, run.id, clock.now())  # its own heartbeat is only seconds old
    asyncio.run(SchedulerWorker(runtime).tick())
    with db.read() as s:
        after = s.get(JobRun, run.id)
    assert after is not None and after.status == "interrupted"


def test_a_message_claimed_before_a_pause_is_given_back_unsent(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    from opsbook.notify import service as notify
    from opsbook.notify.delivery import _Round
    from opsbook.notify.destinations import ChannelSet
    from opsbook.notify.transports import Sender

    config = config_from_data(
        {"channels": {"ops": {"urls": ["json://127.0.0.1:9/hook"]}}}, base_dir=tmp_path
    )
    channels = ChannelSet.from_config(config)
    settings = channels.get("ops").settings
    with db.write() as s:
        notify.enqueue(
            s,
            clock,
            channel="ops",
            key="k",
            event="trigger",
            title="t",
            body="b",
            channels=channels,
        )
    # The process stopped (SIGSTOP) for an hour between its claim and its send.
    paused = _Round(
        db, clock, channels, Sender(config.redactor), "a", random.Random(1), time.monotonic() - 3600
    )
    [claim] = paused.claim(10, None)
    assert not paused.may_send(settings)
    [attempt] = paused.record_all([(claim, None)])
    assert not attempt.outcome.ok and "paused" in attempt.outcome.answer
    with db.read() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.state, row.attempts, row.claimed_by) == ("pending", 0, "")
    fresh = _Round(
        db, clock, channels, Sender(config.redactor), "a", random.Random(1), time.monotonic()
    )
    assert fresh.may_send(settings)


@pytest.mark.postgres
def test_cluster_status_shows_each_node_and_the_leader(cli, pg_db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPSBOOK_DATABASE_URL", pg_db.url)
    assert cli("cluster", "status").exit_code == 1  # nobody is watching
    clock = SystemClock()
    with pg_db.write() as s:
        service.register(s, "web-1", clock.now(), 10)
        service.register(s, "web-2", clock.now(), 10)
        service.register(s, "gone", clock.now() - timedelta(minutes=5), 10)
    assert Leadership("web-1", 10).lead(pg_db, clock)
    result = cli("cluster", "status", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert sorted(nodes) == ["web-1", "web-2"] and data["leader"] == "web-1"
    assert (nodes["web-1"]["leader"], nodes["web-2"]["leader"]) == (True, False)
    assert 0 <= nodes["web-2"]["heartbeat_age_seconds"] < 5 and nodes["web-2"]["checks"] == 0
    everything = json.loads(cli("cluster", "status", "--json", "--all").stdout)
    assert [n["alive"] for n in everything["nodes"] if n["id"] == "gone"] == [False]
    table = cli("cluster", "status")
    assert "web-1" in table.stdout and "leader: web-1" in table.stdout
