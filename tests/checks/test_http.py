from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from opsbook.checks.model import CheckResult, Outcome, Status
from opsbook.checks.probe import ProbeContext, run_check
from opsbook.clock import SystemClock
from opsbook.secrets import Redactor
from tests.checks.conftest import Certificate, Target, free_port, make_config, metric, run_one


def test_a_url_that_answers_200_is_healthy(tmp_path: Path, target: Target) -> None:
    result = run_one(tmp_path, {"type": "http", "url": f"{target.url}/app"})
    assert (result.status, result.error) == (Status.HEALTHY, None)
    assert metric(result, "check_up") == 1.0
    assert metric(result, "http_response_status_code") == 200
    assert metric(result, "http_response_size_bytes") == 2
    assert metric(result, "check_duration_seconds") > 0


def test_an_unexpected_status_fails_with_the_code(tmp_path: Path, target: Target) -> None:
    target.app.status = 503
    result = run_one(tmp_path, {"type": "http", "url": f"{target.url}/app"})
    assert result.status is Status.UNHEALTHY
    assert result.error == "HTTP 503 (expected 200-399)"
    assert metric(result, "check_up") == 0.0
    assert metric(result, "http_response_status_code") == 503


def test_a_failing_non_critical_check_is_only_degraded(tmp_path: Path, target: Target) -> None:
    result = run_one(
        tmp_path, {"type": "http", "url": f"{target.url}/status/500", "critical": False}
    )
    assert result.status is Status.DEGRADED
    assert result.outcome is Outcome.FAIL


def test_expected_statuses_accept_classes_and_ranges(tmp_path: Path, target: Target) -> None:
    spec = {"type": "http", "url": f"{target.url}/status/404", "expect_status": ["2xx", 404]}
    assert run_one(tmp_path, spec).status is Status.HEALTHY


def test_the_body_must_contain_the_expected_text(tmp_path: Path, target: Target) -> None:
    target.app.body = "service degraded"
    spec = {"type": "http", "url": f"{target.url}/app", "body_contains": "all good"}
    result = run_one(tmp_path, spec)
    assert result.status is Status.UNHEALTHY
    assert result.error == "response body does not contain 'all good'"


def test_json_fields_are_compared_by_dotted_path(tmp_path: Path, target: Target) -> None:
    target.app.body = '{"status": "ok", "db": {"up": false}, "nodes": [{"id": 7}]}'
    spec = {
        "type": "http",
        "url": f"{target.url}/app",
        "json_equals": {"status": "ok", "db.up": True, "nodes.0.id": 7, "cache": 1},
    }
    result = run_one(tmp_path, spec)
    assert result.error == "JSON field db.up is false, expected true; JSON field cache is missing"


def test_an_answer_slower_than_the_limit_is_degraded(tmp_path: Path, target: Target) -> None:
    target.app.delay = 0.3
    spec = {"type": "http", "url": f"{target.url}/app", "max_response_time": "100ms"}
    result = run_one(tmp_path, spec)
    assert result.status is Status.DEGRADED
    assert result.error is not None and "over the 100ms limit" in result.error
    assert metric(result, "check_up") == 1.0


def test_a_server_that_never_answers_fails_at_the_timeout(tmp_path: Path, target: Target) -> None:
    target.app.hang = True
    started = time.monotonic()
    result = run_one(tmp_path, {"type": "http", "url": f"{target.url}/app", "timeout": "500ms"})
    assert time.monotonic() - started < 3
    assert result.status is Status.UNHEALTHY
    assert result.error == "timed out after 500ms"


def test_nothing_listening_is_connection_refused(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "http", "url": f"http://127.0.0.1:{free_port()}/"})
    assert result.error == "connection refused"


def test_headers_and_body_are_sent(tmp_path: Path, target: Target) -> None:
    spec = {"type": "http", "url": f"{target.url}/app", "headers": {"X-Probe": "yes"}}
    run_one(tmp_path, spec)
    assert target.app.headers["X-Probe"] == "yes"


def test_https_records_the_days_left_on_the_certificate(
    tmp_path: Path, https_target: Target, certificate: Certificate
) -> None:
    spec = {"type": "http", "url": f"{https_target.url}/app", "ca_file": str(certificate.cert_file)}
    result = run_one(tmp_path, spec)
    assert result.status is Status.DEGRADED
    assert result.error is not None and result.error.startswith("certificate expires in 10 days")
    assert metric(result, "tls_cert_expiry_seconds") == pytest.approx(10 * 86400, abs=120)
    assert metric(result, "tls_cert_not_after_timestamp_seconds") == pytest.approx(
        certificate.not_after.timestamp()
    )


def test_an_untrusted_https_certificate_fails(tmp_path: Path, https_target: Target) -> None:
    result = run_one(tmp_path, {"type": "http", "url": f"{https_target.url}/app"})
    assert result.status is Status.UNHEALTHY
    assert result.error is not None and "certificate verify failed" in result.error


def test_secrets_never_reach_the_error_text(tmp_path: Path, target: Target) -> None:
    url = f"http://probe:hunter22secret@127.0.0.1:{free_port()}/"
    config = make_config(tmp_path, [{"name": "t", "type": "http", "url": url}])

    async def go() -> CheckResult:
        ctx = ProbeContext(config, SystemClock(), Redactor(["hunter22secret"]))
        try:
            return await run_check(config.settings.checks[0], ctx)
        finally:
            await ctx.aclose()

    result = asyncio.run(go())
    assert result.error is not None
    assert "hunter22secret" not in result.error
