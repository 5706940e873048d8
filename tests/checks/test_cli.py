from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.checks.conftest import Target, free_port


def _config(folder: Path, *checks: str) -> Path:
    path = folder / "opsbook.yaml"
    path.write_text("checks:\n" + "".join(f"  - {c}\n" for c in checks))
    return path


def test_check_prints_a_table_and_exits_0_when_all_are_healthy(
    cli, tmp_path: Path, target: Target
) -> None:  # type: ignore[no-untyped-def]
    _config(
        tmp_path,
        f"{{name: api, type: http, url: '{target.url}/app'}}",
        "{name: mem, type: memory, warn_used: 1, max_used: 1}",
    )
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "api" in result.stdout and "mem" in result.stdout
    assert "healthy: 2 of 2 checks healthy" in result.stdout


def test_a_failing_critical_check_exits_1(cli, tmp_path: Path, target: Target) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    _config(
        tmp_path,
        f"{{name: api, type: http, url: '{target.url}/app'}}",
        f"{{name: db, type: tcp, host: 127.0.0.1, port: {port}}}",
    )
    result = cli("check")
    assert result.exit_code == 1
    assert "connection refused" in result.stdout
    assert "unhealthy: 1 of 2 checks healthy" in result.stdout


def test_a_failing_non_critical_check_also_exits_1_as_degraded(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _config(
        tmp_path,
        f"{{name: cache, type: tcp, host: 127.0.0.1, port: {free_port()}, critical: false}}",
    )
    result = cli("check")
    assert result.exit_code == 1
    assert "degraded: 0 of 1 checks healthy" in result.stdout


def test_json_has_the_shape_of_run_health_checks(cli, tmp_path: Path, target: Target) -> None:  # type: ignore[no-untyped-def]
    target.app.status = 500
    _config(tmp_path, f"{{name: api, type: http, url: '{target.url}/app', critical: false}}")
    result = cli("check", "--json")
    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert document["schema_version"] == 1
    assert document["status"] == "degraded"
    [check] = document["checks"]
    assert {k: check[k] for k in ("name", "status", "error", "critical", "type")} == {
        "name": "api",
        "status": "degraded",
        "error": "HTTP 500 (expected 200-399)",
        "critical": False,
        "type": "http",
    }
    assert check["latency"] >= 0 and "T" in check["timestamp"] and "T" in document["timestamp"]
    assert {
        "name": "http_response_status_code",
        "labels": {"check": "api"},
        "value": 500.0,
    } in check["metrics"]


def test_only_runs_the_named_checks(cli, tmp_path: Path, target: Target) -> None:  # type: ignore[no-untyped-def]
    _config(
        tmp_path,
        f"{{name: api, type: http, url: '{target.url}/app'}}",
        f"{{name: db, type: tcp, host: 127.0.0.1, port: {free_port()}}}",
    )
    result = cli("check", "--only", "api", "--json")
    assert result.exit_code == 0
    assert [c["name"] for c in json.loads(result.stdout)["checks"]] == ["api"]
    unknown = cli("check", "--only", "nope")
    assert unknown.exit_code == 2
    assert "no check named nope (known: api, db)" in unknown.stderr


def test_bad_config_exits_2_with_file_and_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _config(tmp_path, "{name: api, type: http, url: 'http://x', interval: 5s, timeout: 1m}")
    result = cli("check")
    assert result.exit_code == 2
    assert "opsbook.yaml:2: checks[0].timeout: timeout (60s)" in result.stderr.replace("\n", "")


def test_no_checks_configured_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("check")
    assert result.exit_code == 2
    assert "no checks configured" in result.stderr


def _wait_for_results(db_file: Path, count: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if db_file.exists():
            try:
                with sqlite3.connect(db_file) as conn:
                    done = conn.execute(
                        "SELECT count(*) FROM check_state WHERE last_run_at IS NOT NULL"
                    ).fetchone()[0]
                if done >= count:
                    return
            except sqlite3.OperationalError:
                pass  # not migrated yet
        time.sleep(0.1)
    raise AssertionError("opsbook watch wrote no results in time")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_watch_runs_until_stopped_and_stops_cleanly(
    tmp_path: Path, target: Target, signum: int, code: int
) -> None:
    config = _config(
        tmp_path,
        f"{{name: api, type: http, url: '{target.url}/app', interval: 1s, timeout: 500ms}}",
        f"{{name: db, type: tcp, host: 127.0.0.1, port: {free_port()}, interval: 1s}}",
    )
    opsbook = Path(sys.executable).parent / "opsbook"
    process = subprocess.Popen(
        [str(opsbook), "watch", "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        _wait_for_results(tmp_path / ".opsbook" / "opsbook.db", 2, time.monotonic() + 30)
        process.send_signal(signum)
        _out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == code, err
    assert "watching 2 checks" in err
    assert "check db: unknown -> unhealthy (connection refused)" in err, err
    with sqlite3.connect(tmp_path / ".opsbook" / "opsbook.db") as conn:
        states = dict(conn.execute("SELECT name, status FROM check_state").fetchall())
        claimed = conn.execute(
            "SELECT count(*) FROM check_state WHERE claimed_by IS NOT NULL"
        ).fetchone()[0]
    assert states == {"api": "healthy", "db": "unhealthy"}
    assert claimed == 0
