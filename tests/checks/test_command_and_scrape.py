from __future__ import annotations

import time
from pathlib import Path

import psutil

from opsbook.checks.model import Status
from tests.checks.conftest import Target, metric, run_one


def test_exit_zero_is_healthy_and_other_codes_fail_with_the_last_line(tmp_path: Path) -> None:
    ok = run_one(tmp_path, {"type": "command", "command": "true"})
    bad = run_one(
        tmp_path, {"type": "command", "command": "echo starting; echo 'queue stuck' >&2; exit 2"}
    )
    assert ok.status is Status.HEALTHY
    assert metric(ok, "command_exit_code") == 0
    assert bad.status is Status.UNHEALTHY
    assert bad.error == "exit 2: queue stuck"
    assert metric(bad, "command_exit_code") == 2


def test_warning_exit_codes_degrade(tmp_path: Path) -> None:
    spec = {"type": "command", "command": ["sh", "-c", "exit 1"], "warn_exit_codes": [1]}
    assert run_one(tmp_path, spec).status is Status.DEGRADED


def test_key_value_output_becomes_metrics(tmp_path: Path) -> None:
    spec = {
        "type": "command",
        "command": "printf 'queue_depth=12\\nlag_seconds: 0.5\\nnot a metric\\n'",
        "output": "key_value",
    }
    result = run_one(tmp_path, spec)
    assert metric(result, "queue_depth") == 12
    assert metric(result, "lag_seconds") == 0.5


def test_prometheus_output_keeps_its_labels(tmp_path: Path) -> None:
    text = '# TYPE jobs_total counter\\njobs_total{queue="mail"} 4\\n'
    spec = {"type": "command", "command": f"printf '{text}'", "output": "prometheus"}
    result = run_one(tmp_path, spec)
    assert metric(result, "jobs_total", queue="mail", check="t") == 4


def test_values_reach_the_command_as_environment_not_text(tmp_path: Path) -> None:
    spec = {
        "type": "command",
        "command": ["sh", "-c", 'test "$TARGET" = "a b;c"'],
        "env": {"TARGET": "a b;c"},
    }
    assert run_one(tmp_path, spec).status is Status.HEALTHY


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    spec = {
        "type": "command",
        "command": f"sleep 30 & echo $! > {marker}; wait",
        "timeout": "1s",
    }
    started = time.monotonic()
    result = run_one(tmp_path, spec)
    assert time.monotonic() - started < 5
    assert result.error == "timed out after 1s"
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the command's child outlived the timeout"
        time.sleep(0.05)


def test_a_scrape_keeps_only_the_named_series(tmp_path: Path, target: Target) -> None:
    target.metrics_text = (
        "# TYPE http_requests_total counter\n"
        'http_requests_total{code="200",check="web"} 10\n'
        'http_requests_total{code="500"} 2\n'
        "# TYPE process_open_fds gauge\n"
        "process_open_fds 7\n"
    )
    spec = {"type": "prometheus", "url": f"{target.url}/metrics", "keep": ["http_requests_*"]}
    result = run_one(tmp_path, spec)
    assert result.status is Status.HEALTHY
    assert metric(result, "http_requests_total", code="500") == 2
    assert metric(result, "http_requests_total", code="200", exported_check="web", check="t") == 10
    assert metric(result, "scrape_samples_scraped") == 3
    assert not [s for s in result.samples if s.name == "process_open_fds"]


def test_a_scrape_with_nothing_kept_is_degraded(tmp_path: Path, target: Target) -> None:
    target.metrics_text = "process_open_fds 7\n"
    spec = {"type": "prometheus", "url": f"{target.url}/metrics", "keep": ["missing_*"]}
    result = run_one(tmp_path, spec)
    assert result.status is Status.DEGRADED
    assert (result.error or "").startswith("none of missing_*")
