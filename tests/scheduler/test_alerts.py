"""The default job rules as the server runs them: the scheduler worker the runtime builds
writes its metrics to the store, and the alert evaluator fires and resolves the rules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.runtime import Runtime, build_workers
from opsbook.scheduler.worker import SchedulerWorker
from opsbook.storage import Database
from tests.scheduler.alerting import evaluate_alerts


def scheduler(runtime: Runtime) -> SchedulerWorker:
    """The scheduler worker exactly as `opsbook serve` builds it."""
    [worker] = [w for w in build_workers(runtime) if w.name == "scheduler"]
    assert isinstance(worker, SchedulerWorker)
    return worker


def make_runtime(db: Database, clock: FakeClock, tmp_path: Path, **job: Any) -> Runtime:
    spec = {"name": "tick", "cron": "0 * * * *", "command": "echo ok", **job}
    config = config_from_data({"schedules": [spec]}, base_dir=tmp_path)
    return Runtime(config, db, clock, "node-a")


async def fire(worker: SchedulerWorker) -> None:
    await worker.tick()
    await worker.wait_idle()
    await worker.tick()  # publishes the metrics after the run ended


def test_a_failed_run_fires_the_job_failed_alert_and_a_success_resolves_it(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = make_runtime(db, clock, tmp_path, command="test -e ok || exit 3")
    worker = scheduler(runtime)
    asyncio.run(worker.tick())
    clock.set(datetime(2026, 1, 5, 13, tzinfo=UTC))
    asyncio.run(fire(worker))
    assert evaluate_alerts(runtime) == {"job_failed_tick": "firing"}
    (tmp_path / "ok").touch()
    clock.set(datetime(2026, 1, 5, 14, tzinfo=UTC))
    asyncio.run(fire(worker))
    assert evaluate_alerts(runtime) == {}


def test_a_job_with_no_success_by_its_due_time_fires_the_dead_mans_alert(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = make_runtime(db, clock, tmp_path, grace="10m", missed="skip")
    worker = scheduler(runtime)
    asyncio.run(worker.tick())
    clock.set(datetime(2026, 1, 5, 13, tzinfo=UTC))
    asyncio.run(fire(worker))  # succeeded for the 13:00 fire
    clock.set(datetime(2026, 1, 5, 14, 5, tzinfo=UTC))  # down at 14:00: that fire is skipped
    asyncio.run(fire(worker))
    assert evaluate_alerts(runtime) == {}  # still within the grace of the 14:00 fire
    clock.set(datetime(2026, 1, 5, 14, 11, tzinfo=UTC))  # no success by 14:10
    asyncio.run(fire(worker))
    assert evaluate_alerts(runtime) == {"job_overdue_tick": "firing"}
    clock.set(datetime(2026, 1, 5, 15, tzinfo=UTC))  # the next fire runs and succeeds
    asyncio.run(fire(worker))
    assert evaluate_alerts(runtime) == {}
