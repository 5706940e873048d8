"""Jobs that run runbook procedures, and jobs that come from a runbook's ```cron blocks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from opsbook.clock import FakeClock
from opsbook.config import load_config
from opsbook.execution import service as runs
from opsbook.runtime import Runtime
from opsbook.scheduler import service
from opsbook.scheduler.tables import JobRun
from opsbook.scheduler.worker import SchedulerWorker
from opsbook.storage import Database

RUNBOOK = """\
# Ops

## Rotate logs

```bash
echo rotating for $OPSBOOK_JOB with $GREETING
```

## Broken

```bash
echo about to fail
exit 3
```

## Clear scratch

```bash
rm -rf ./scratch
echo cleared
```
"""

CONFIG = """\
database_url: sqlite:///{store}
schedules:
  - name: job
    cron: "0 * * * *"
    procedure: runbooks/ops.md#{procedure}
"""


def run_procedure_job(
    tmp_path: Path, db: Database, clock: FakeClock, procedure: str, **extra: str
) -> JobRun:
    """Configure one hourly job running `procedure`, let it fire once, and return its run."""
    (tmp_path / "runbooks").mkdir(exist_ok=True)
    (tmp_path / "runbooks" / "ops.md").write_text(RUNBOOK)
    store = db.url.removeprefix("sqlite:///")
    text = CONFIG.format(store=store, procedure=procedure)
    text += "".join(f"    {key}: {value}\n" for key, value in extra.items())
    (tmp_path / "opsbook.yaml").write_text(text)
    worker = SchedulerWorker(Runtime(load_config(tmp_path / "opsbook.yaml", env={}), db, clock))

    async def scenario() -> None:
        await worker.tick()
        clock.advance(hours=1)
        await worker.tick()
        await worker.wait_idle()

    asyncio.run(scenario())
    with db.read() as session:
        [run] = service.history(session, "job")
        return run


def test_a_procedure_job_runs_the_procedure_through_the_execution_service(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock
) -> None:
    run = run_procedure_job(tmp_path, sqlite_db, clock, "rotate-logs", env="{GREETING: hi}")
    assert (run.status, run.exit_code) == ("succeeded", 0), run.output
    assert "rotating for job with hi" in run.output
    with sqlite_db.read() as session:
        [stored] = runs.list_runs(session)
    assert (stored["procedure"], stored["status"]) == ("Rotate logs", "ok")
    assert stored["operator"] == "scheduler:job"


def test_a_failing_step_fails_the_procedure_job(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock
) -> None:
    run = run_procedure_job(tmp_path, sqlite_db, clock, "broken")
    assert (run.status, run.exit_code) == ("failed", 1)
    assert "about to fail" in run.output and "step 1 failed: exit 3" in run.output


def test_a_step_that_needs_confirmation_stops_the_job_without_confirm(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock
) -> None:
    (tmp_path / "scratch").mkdir()
    run = run_procedure_job(tmp_path, sqlite_db, clock, "clear-scratch")
    assert run.status == "failed" and "waiting" in run.output
    assert (tmp_path / "scratch").is_dir()


def test_confirm_lets_a_procedure_job_run_its_gated_steps(
    tmp_path: Path, sqlite_db: Database, clock: FakeClock
) -> None:
    (tmp_path / "scratch").mkdir()
    run = run_procedure_job(tmp_path, sqlite_db, clock, "clear-scratch", confirm="true")
    assert run.status == "succeeded", run.output
    assert "cleared" in run.output and not (tmp_path / "scratch").exists()


IMPORTED_RUNBOOK = """\
# Maintenance

## Log rotation

```bash
# 0 2 * * * /usr/local/bin/rotate-logs.sh
echo logs rotated
```

## Schedule

```cron
# Database backup - every 6 hours
0 */6 * * * echo backed up at $OPSBOOK_SCHEDULED_FOR
```
"""


def test_jobs_imported_from_a_runbooks_cron_blocks_load_and_run(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "maint.md").write_text(IMPORTED_RUNBOOK)
    imported = cli("import", "runbooks/maint.md", "--out", "imported")
    assert imported.exit_code == 0, imported.stderr
    (tmp_path / "opsbook.yaml").write_text("include: [imported/*.yaml]\n")

    jobs = json.loads(cli("jobs", "list", "--json").stdout)["jobs"]
    assert [(j["name"], j["cron"], j["kind"], j["target"]) for j in jobs] == [
        ("log-rotation", "0 2 * * *", "procedure", "runbooks/maint.md#log-rotation"),
        (
            "database-backup",
            "0 */6 * * *",
            "command",
            "echo backed up at $OPSBOOK_SCHEDULED_FOR",
        ),
    ]
    procedure = cli("jobs", "run", "log-rotation", "--json")
    assert procedure.exit_code == 0, procedure.stdout
    assert "logs rotated" in json.loads(procedure.stdout)["run"]["output"]
    command = cli("jobs", "run", "database-backup", "--json")
    assert json.loads(command.stdout)["run"]["output"] == "backed up at\n"
