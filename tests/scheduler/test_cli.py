from __future__ import annotations

import json
from pathlib import Path

CONFIG = """\
schedules:
  - name: hello
    cron: "0 * * * *"
    command: echo hello; exit ${EXIT_CODE:-0}
  - name: sleepy
    cron: "0 3 * * *"
    timezone: Europe/Berlin
    command: sleep 1
"""


def write_config(tmp_path: Path) -> None:
    (tmp_path / "opsbook.yaml").write_text(CONFIG)


def test_jobs_run_runs_now_and_history_shows_it(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_config(tmp_path)
    result = cli("jobs", "run", "hello", "--json")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)["run"]
    assert (run["status"], run["trigger"], run["exit_code"], run["output"]) == (
        "succeeded",
        "manual",
        0,
        "hello\n",
    )
    history = json.loads(cli("jobs", "history", "hello", "--json").stdout)
    assert [r["id"] for r in history["runs"]] == [run["id"]]


def test_jobs_run_exits_1_when_the_run_fails(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write_config(tmp_path)
    monkeypatch.setenv("EXIT_CODE", "4")
    result = cli("jobs", "run", "hello")
    assert result.exit_code == 1
    assert "failed" in result.stdout and "exited with status 4" in result.stdout


def test_jobs_list_json_shows_each_job(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_config(tmp_path)
    cli("jobs", "run", "hello")
    jobs = json.loads(cli("jobs", "list", "--json").stdout)["jobs"]
    assert [(j["name"], j["kind"], j["timezone"]) for j in jobs] == [
        ("hello", "command", "UTC"),
        ("sleepy", "command", "Europe/Berlin"),
    ]
    assert jobs[0]["last_run"]["status"] == "succeeded" and jobs[0]["last_success_at"]
    assert jobs[1]["last_run"] is None and jobs[1]["overdue"] is False


def test_an_unknown_job_exits_2_and_names_the_known_ones(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_config(tmp_path)
    result = cli("jobs", "history", "nope")
    assert result.exit_code == 2
    assert "unknown job 'nope' (known: hello, sleepy)" in result.stderr
