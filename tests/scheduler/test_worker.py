from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from opsbook.clock import FakeClock
from opsbook.scheduler import service
from opsbook.scheduler.tables import JobRun
from opsbook.storage import Database
from tests.scheduler.conftest import ListSink, MakeWorker

HOURLY = {"name": "tick", "cron": "0 * * * *", "command": "echo hello from $OPSBOOK_JOB"}
BLOCK = "while [ ! -e release ]; do sleep 0.02; done; echo released"


def runs(db: Database, job: str) -> list[JobRun]:
    with db.read() as session:
        return list(reversed(service.history(session, job, limit=100)))


def at_next_hour(clock: FakeClock, minutes: float = 0.0) -> None:
    now = clock.now()
    clock.set(now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, minutes=minutes))


async def tick_and_wait(worker) -> list[int]:  # type: ignore[no-untyped-def]
    started = await worker.tick()
    await worker.wait_idle()
    return started


def test_a_due_job_runs_and_its_history_records_status_duration_and_output(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    worker = make_worker(HOURLY)

    async def scenario() -> None:
        assert await tick_and_wait(worker) == []  # nothing due yet: the first fire is ahead
        at_next_hour(clock)
        assert len(await tick_and_wait(worker)) == 1

    asyncio.run(scenario())
    [run] = runs(db, "tick")
    assert (run.status, run.exit_code, run.trigger) == ("succeeded", 0, "schedule")
    assert run.output.strip() == "hello from tick"
    assert run.duration_seconds is not None and run.duration_seconds >= 0
    assert run.scheduled_for == datetime(2026, 1, 5, 13, tzinfo=UTC)


def test_a_fire_is_claimed_by_one_worker_only(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    first, second = make_worker(HOURLY, node_id="a"), make_worker(HOURLY, node_id="b")

    async def scenario() -> None:
        await first.tick()
        at_next_hour(clock)
        started = await asyncio.gather(second.tick(), first.tick())
        await first.wait_idle()
        await second.wait_idle()
        assert sorted(len(s) for s in started) == [0, 1]

    asyncio.run(scenario())
    assert len(runs(db, "tick")) == 1


def test_a_fire_claimed_twice_in_the_store_runs_once(db: Database, clock: FakeClock) -> None:
    from opsbook.config import config_from_data

    spec = config_from_data({"schedules": [HOURLY]}).settings.schedules[0]
    with db.write() as session:
        service.sync_jobs(session, [spec], clock.now())
    at_next_hour(clock)
    with db.write() as session:
        claimed = service.claim_due(session, {"tick": spec}, clock.now(), "a")
    with db.write() as session:
        again = service.claim_due(session, {"tick": spec}, clock.now(), "b")
    assert (len(claimed), again) == (1, [])


def test_overlap_skip_records_the_fire_as_skipped_while_the_last_run_goes_on(
    db: Database, clock: FakeClock, make_worker: MakeWorker, tmp_path: Path
) -> None:
    worker = make_worker({**HOURLY, "command": BLOCK, "overlap": "skip"})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        assert len(await worker.tick()) == 1
        at_next_hour(clock)
        assert await worker.tick() == []
        (tmp_path / "release").touch()
        await worker.wait_idle()

    asyncio.run(scenario())
    first, second = runs(db, "tick")
    assert (first.status, second.status) == ("succeeded", "skipped")
    assert f"run #{first.id} is still running" in second.note


def test_overlap_queue_runs_the_fire_after_the_running_one(
    db: Database, clock: FakeClock, make_worker: MakeWorker, tmp_path: Path
) -> None:
    worker = make_worker({**HOURLY, "command": BLOCK, "overlap": "queue"})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await worker.tick()
        at_next_hour(clock)
        assert await worker.tick() == []  # queued, not started
        assert [r.status for r in runs(db, "tick")] == ["running", "queued"]
        (tmp_path / "release").touch()
        await worker.wait_idle()
        assert len(await tick_and_wait(worker)) == 1

    asyncio.run(scenario())
    assert [r.status for r in runs(db, "tick")] == ["succeeded", "succeeded"]


def test_missed_fires_after_downtime_run_once(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    worker = make_worker(HOURLY)

    async def scenario() -> None:
        await worker.tick()
        clock.advance(hours=5, minutes=30)  # opsbook was down through five fires
        assert len(await tick_and_wait(worker)) == 1
        assert await tick_and_wait(worker) == []

    asyncio.run(scenario())
    [run] = runs(db, "tick")
    assert (run.status, run.trigger) == ("succeeded", "missed")
    assert run.scheduled_for == datetime(2026, 1, 5, 17, tzinfo=UTC)  # the newest missed fire
    assert "4 earlier fire(s) missed" in run.note


def test_missed_fires_after_downtime_are_skipped_with_the_skip_policy(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    worker = make_worker({**HOURLY, "missed": "skip"})

    async def scenario() -> None:
        await worker.tick()
        clock.advance(hours=5, minutes=30)
        assert await tick_and_wait(worker) == []
        at_next_hour(clock)
        assert len(await tick_and_wait(worker)) == 1  # the next fire on time runs

    asyncio.run(scenario())
    assert [(r.status, r.trigger) for r in runs(db, "tick")] == [
        ("skipped", "missed"),
        ("succeeded", "schedule"),
    ]


def test_a_daily_job_runs_once_across_a_dst_change(
    db: Database, make_worker: MakeWorker, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 10, 24, 12, tzinfo=UTC))
    worker = make_worker({**HOURLY, "cron": "30 2 * * *", "timezone": "Europe/Berlin"})

    async def scenario() -> None:
        for _ in range(48 * 4):  # two days in steps of 15 minutes
            await tick_and_wait(worker)
            clock.advance(minutes=15)

    asyncio.run(scenario())
    assert [r.scheduled_for for r in runs(db, "tick")] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]


def test_a_timeout_kills_the_whole_process_group(
    db: Database, clock: FakeClock, make_worker: MakeWorker, tmp_path: Path
) -> None:
    command = "sleep 60 & echo $! > child.pid; wait"
    worker = make_worker({**HOURLY, "command": command, "timeout": "0.5s"})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await tick_and_wait(worker)

    asyncio.run(scenario())
    [run] = runs(db, "tick")
    assert run.status == "timed_out"
    assert "killed with its process group" in run.note
    child = int((tmp_path / "child.pid").read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_output_is_capped_keeping_its_head_and_tail(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    command = "echo FIRST; seq 1 60000; echo LAST"
    worker = make_worker({**HOURLY, "command": command})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await tick_and_wait(worker)

    asyncio.run(scenario())
    [run] = runs(db, "tick")
    assert run.output.startswith("FIRST") and run.output.rstrip().endswith("LAST")
    assert "bytes of output left out" in run.output
    assert len(run.output) < 70_000 and run.output_bytes > 300_000


def test_secrets_in_job_output_are_masked(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    job = {**HOURLY, "command": "echo token is $API_TOKEN", "env": {"API_TOKEN": "s3cr3t-value"}}
    worker = make_worker(job)

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await tick_and_wait(worker)

    asyncio.run(scenario())
    [run] = runs(db, "tick")
    assert "s3cr3t-value" not in run.output and "token is" in run.output


def test_a_failed_run_is_alertable_and_a_success_clears_it(
    db: Database, clock: FakeClock, make_worker: MakeWorker, sink: ListSink, tmp_path: Path
) -> None:
    worker = make_worker({**HOURLY, "command": "test -e ok || exit 3"})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await tick_and_wait(worker)
        worker.publish(clock.now())
        assert sink.value("job_last_run_failed", "tick") == 1.0
        assert sink.value("job_last_success_timestamp_seconds", "tick") is None
        (tmp_path / "ok").touch()
        at_next_hour(clock)
        await tick_and_wait(worker)
        worker.publish(clock.now())

    asyncio.run(scenario())
    assert sink.value("job_last_run_failed", "tick") == 0.0
    assert sink.value("job_last_success_timestamp_seconds", "tick") == clock.now().timestamp()
    failed, ok = runs(db, "tick")
    assert (failed.status, failed.exit_code, ok.status) == ("failed", 3, "succeeded")


def test_a_job_without_a_success_in_its_period_plus_grace_is_overdue(
    db: Database, clock: FakeClock, make_worker: MakeWorker, sink: ListSink
) -> None:
    worker = make_worker({**HOURLY, "grace": "10m", "enabled": True})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await tick_and_wait(worker)  # succeeded for the 13:00 fire
        clock.advance(minutes=65)  # 14:05: the 14:00 fire is within its grace
        worker.publish(clock.now())
        assert sink.value("job_overdue", "tick") == 0.0
        clock.advance(minutes=6)  # 14:11: no success for the 14:00 fire by 14:10
        worker.publish(clock.now())

    asyncio.run(scenario())
    assert sink.value("job_overdue", "tick") == 1.0


def test_a_run_of_a_process_that_died_is_marked_interrupted(
    db: Database, clock: FakeClock, make_worker: MakeWorker
) -> None:
    from opsbook.config import config_from_data

    spec = config_from_data({"schedules": [HOURLY]}).settings.schedules[0]
    with db.write() as session:
        run = service.start_manual(session, spec, clock.now(), "gone:1", "alice")
    clock.advance(minutes=5)
    worker = make_worker(HOURLY)
    asyncio.run(worker.tick())
    [after] = runs(db, "tick")
    assert after.id == run.id and after.status == "interrupted"
    assert "gone:1" in after.note


def test_a_manual_run_is_refused_while_the_job_runs(db: Database, clock: FakeClock) -> None:
    import pytest

    from opsbook.config import config_from_data
    from opsbook.errors import ConflictError

    spec = config_from_data({"schedules": [HOURLY]}).settings.schedules[0]
    with db.write() as session:
        service.start_manual(session, spec, clock.now(), "a", "alice")
    with pytest.raises(ConflictError, match="is running now"), db.write() as session:
        service.start_manual(session, spec, clock.now(), "a", "bob")


def test_stopping_the_worker_kills_running_jobs_and_marks_them_interrupted(
    db: Database, clock: FakeClock, make_worker: MakeWorker, tmp_path: Path
) -> None:
    worker = make_worker({**HOURLY, "command": "echo $$ > job.pid; sleep 60"})

    async def scenario() -> None:
        await worker.tick()
        at_next_hour(clock)
        await worker.tick()
        pid_file = tmp_path / "job.pid"
        deadline = asyncio.get_running_loop().time() + 10
        while not pid_file.exists() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await worker.shutdown()

    asyncio.run(scenario())
    [run] = runs(db, "tick")
    assert run.status == "interrupted"
    pid = int((tmp_path / "job.pid").read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert os.getpgid(os.getpid()) != pid
