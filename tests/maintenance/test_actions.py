from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.actions import ActionContext
from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.errors import UsageError
from opsbook.runtime import action_registry
from opsbook.secrets import Redactor
from opsbook.storage import Database
from tests.logs.builder import START, access
from tests.pg.conftest import is_alive

EXPECTED = {
    "pg connections",
    "pg kill-idle",
    "pg vacuum",
    "pg reindex",
    "pg bloat",
    "pg unused-indexes",
    "pg slow-queries",
    "pg table-sizes",
    "pg growth",
    "logs scan",
    "logs rotate",
    "logs cleanup",
}


def context(**kw: object) -> ActionContext:
    return ActionContext(
        config=config_from_data({}), clock=FakeClock(START), redactor=Redactor(), **kw
    )  # type: ignore[arg-type]


def test_every_maintenance_action_is_registered() -> None:
    assert set(action_registry().names()) >= EXPECTED


def test_logs_scan_returns_the_cli_text_and_data(cli, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("\n".join(access(status=s) for s in (200, 500, 401)) + "\n")
    result = action_registry().run(f"logs scan {log}", context())
    command = cli("logs", "scan", str(log))

    def without_clock(text: str) -> list[str]:  # the window's end is each run's own "now"
        return [line for line in text.splitlines() if not line.startswith("window:")]

    assert result.ok
    assert without_clock(result.output) == without_clock(command.stdout)
    assert result.data["requests"]["status"] == {"200": 1, "401": 1, "500": 1}


def test_logs_scan_record_writes_metric_samples(tmp_path: Path, sqlite_db: Database) -> None:
    from opsbook.maintenance.samples import series

    log = tmp_path / "access.log"
    log.write_text("\n".join(access(status=s) for s in (200, 500, 500, 200)) + "\n")
    action_registry().run(f"logs scan {log} --record", context(db=sqlite_db))
    with sqlite_db.read() as session:
        points = series(session, "http_5xx_ratio", {"source": str(log)})
    assert [value for _, value in points] == [0.5]


@pytest.mark.postgres
def test_kill_idle_from_a_runbook_acts_only_when_confirmed(pg_url: str, open_conn) -> None:
    victim = open_conn("victim")
    registry = action_registry()
    line = "pg kill-idle --older-than 0s --yes"
    unconfirmed = registry.run(line, context(env={"DATABASE_URL": pg_url}))
    assert not unconfirmed.ok and "Not confirmed" in unconfirmed.output
    assert is_alive(victim)
    confirmed = registry.run(line, context(env={"DATABASE_URL": pg_url}, yes=True))
    assert victim.info.backend_pid in confirmed.data["ended"]
    assert not is_alive(victim)


@pytest.mark.postgres
def test_vacuum_in_a_dry_run_changes_nothing(pg_url: str) -> None:
    result = action_registry().run(
        "pg vacuum --analyze songs", context(env={"DATABASE_URL": pg_url}, dry_run=True)
    )
    assert result.output == "Dry run: would run VACUUM ANALYZE songs"


def test_a_bad_argument_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--older-than"):
        action_registry().run("pg kill-idle", context())
