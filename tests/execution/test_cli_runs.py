from __future__ import annotations

import json
from pathlib import Path

from opsbook.config import config_from_data
from opsbook.runtime import Runtime
from opsbook.secrets import MASK
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade
from tests.execution.conftest import request, runbook, start, step


def _runtime_in(folder: Path) -> Runtime:
    """The store `opsbook` uses when run from `folder` without a config file."""
    config = config_from_data({}, base_dir=folder)
    db = Database(config.database_url)
    upgrade(db)
    return Runtime(config=config, db=db)


def test_runs_list_and_show_print_the_stored_run_as_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtime = _runtime_in(tmp_path)
    book = runbook(step(1, "echo hello $API_TOKEN", title="Say hello"), step(2, "exit 4"))
    outcome = start(runtime, request(book, variables={"API_TOKEN": "tok-abcdef"}))
    runtime.db.dispose()

    listed = cli("runs", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    [run] = json.loads(listed.stdout)["runs"]
    assert (run["run_id"], run["status"], run["procedure"]) == (outcome.run_id, "failed", "Restart")

    shown = cli("runs", "show", str(outcome.run_id), "--json")
    data = json.loads(shown.stdout)
    assert data["schema_version"] == 1
    assert [(s["number"], s["title"], s["status"], s["exit_code"]) for s in data["steps"]] == [
        (1, "Say hello", "ok", 0),
        (2, "step 2", "failed", 4),
    ]
    assert data["steps"][0]["output"] == f"hello {MASK}\n"
    assert "tok-abcdef" not in shown.stdout


def test_runs_show_prints_steps_and_output_for_people(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtime = _runtime_in(tmp_path)
    outcome = start(runtime, request(runbook(step(1, "echo visible-output", title="Echo"))))
    runtime.db.dispose()
    shown = cli("runs", "show", str(outcome.run_id))
    assert shown.exit_code == 0
    assert "1. Echo ✔ ok" in shown.stdout and "visible-output" in shown.stdout
    assert f"Run {outcome.run_id} ok" in shown.stdout


def test_an_unknown_run_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("runs", "show", "999")
    assert result.exit_code == 2
    assert "no run 999" in result.stderr


def test_cancelling_a_finished_run_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtime = _runtime_in(tmp_path)
    outcome = start(runtime, request(runbook(step(1, "true"))))
    runtime.db.dispose()
    result = cli("runs", "cancel", str(outcome.run_id))
    assert result.exit_code == 1
    assert "is ok, not running" in result.stderr
