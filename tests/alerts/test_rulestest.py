from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsbook.alerts.rulestest import _expand

SEED_RULES = """\
# High error rate
- alert: HighErrorRate
  expr: rate(http_requests_total{status=~"5.."}[5m]) > 0.05
  for: 2m
  labels:
    severity: critical
  annotations:
    summary: High error rate detected

# High response time
- alert: HighResponseTime
  expr: histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 1
  for: 5m
  labels:
    severity: warning
  annotations:
    summary: High response time detected
"""

TESTS = """\
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - name: error rate pages after two minutes of 5xx
    input_series:
      - series: 'http_requests_total{status="500", job="api"}'
        values: '0x4 0+30x20'
    alert_rule_test:
      - eval_time: 6m
        alertname: HighErrorRate
        exp_alerts: []
      - eval_time: 12m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels: {severity: critical, status: "500", job: api}
            exp_annotations: {summary: High error rate detected}
    expr_test:
      - expr: rate(http_requests_total{status="500"}[5m])
        eval_time: 12m
        exp_samples:
          - labels: 'http_requests_total{status="500", job="api"}'
            value: 0.5
  - name: slow requests page after five minutes
    input_series:
      - series: 'http_request_duration_seconds_bucket{le="0.5"}'
        values: '0+10x30'
      - series: 'http_request_duration_seconds_bucket{le="1"}'
        values: '0+20x30'
      - series: 'http_request_duration_seconds_bucket{le="2.5"}'
        values: '0+90x30'
      - series: 'http_request_duration_seconds_bucket{le="+Inf"}'
        values: '0+100x30'
    alert_rule_test:
      - eval_time: 4m
        alertname: HighResponseTime
        exp_alerts: []
      - eval_time: 10m
        alertname: HighResponseTime
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations: {summary: High response time detected}
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "rules.yml").write_text(SEED_RULES)
    path = tmp_path / "rules_test.yml"
    path.write_text(TESTS)
    return path


def test_the_seed_rules_pass_their_unit_tests(cli, suite: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("rules", "test", str(suite), "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["passed"] is True
    assert [t["name"] for t in document["tests"]] == [
        "error rate pages after two minutes of 5xx",
        "slow requests page after five minutes",
    ]


def test_a_wrong_expectation_fails_with_what_fired(cli, suite: Path) -> None:  # type: ignore[no-untyped-def]
    suite.write_text(
        TESTS.replace("eval_time: 6m", "eval_time: 3m").replace(
            "exp_alerts: []\n      - eval_time: 12m", "exp_alerts: []\n      - eval_time: 5m"
        )
    )
    result = cli("rules", "test", str(suite))
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "alertname: HighErrorRate, time: 300s" in result.stdout
    assert "got: (none firing)" in result.stdout


def test_a_bad_series_in_a_test_file_names_its_line(cli, suite: Path) -> None:  # type: ignore[no-untyped-def]
    suite.write_text(TESTS.replace("'0x4 0+30x20'", "'0x4 zero'"))
    result = cli("rules", "test", str(suite))
    assert result.exit_code == 2
    assert f"{suite}:7: input series values: not a value: 'zero'" in result.stderr


def test_an_unknown_metric_in_a_configured_rule_fails_the_test_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "opsbook.yaml").write_text("alerts:\n  - name: x\n    condition: eror_rate > 5%\n")
    path = tmp_path / "t.yml"
    path.write_text("config: opsbook.yaml\ntests: []\n")
    result = cli("rules", "test", str(path))
    assert result.exit_code == 2
    assert "opsbook.yaml:3: alerts[0].condition" in result.stderr
    assert "did you mean error_rate" in result.stderr


def test_promtool_value_notation_expands() -> None:
    assert _expand("1 _ 3") == [1.0, None, 3.0]
    assert _expand("0+10x3") == [0.0, 10.0, 20.0, 30.0]
    assert _expand("5-1x2 _x2 7x1 stale") == [5.0, 4.0, 3.0, None, None, 7.0, 7.0, None]
