from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.alerts.rules import load_rules
from opsbook.config import load_config
from opsbook.errors import ConfigError

RULE_FILE = """\
groups:
  - name: api
    rules:
      - record: job:errors:rate5m
        expr: sum by (job) (rate(http_requests_total{status=~"5.."}[5m]))
      - alert: ApiErrors
        expr: job:errors:rate5m > 1
        for: 2m
        keep_firing_for: 5m
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.job }} serves {{ $value | humanize }} errors/s"
          runbook_url: runbooks/api.md#errors
"""


def write(tmp_path: Path, config: str, rules: str | None = None) -> Path:
    if rules is not None:
        (tmp_path / "rules").mkdir(exist_ok=True)
        (tmp_path / "rules" / "api.yml").write_text(rules)
    path = tmp_path / "opsbook.yaml"
    path.write_text(config)
    return path


def test_prometheus_rule_files_load_with_recording_rules(tmp_path: Path) -> None:
    path = write(tmp_path, "rule_files: [rules/*.yml]\n", RULE_FILE)
    [rule] = load_rules(load_config(path, env={}))
    assert (rule.name, rule.hold, rule.keep_firing_for) == ("ApiErrors", 120, 300)
    assert rule.severity == "critical" and rule.runbook == "runbooks/api.md#errors"
    assert rule.source.file.endswith("api.yml") and rule.source.line == 6


def test_a_bad_expression_in_a_rule_file_names_its_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "rule_files: [rules/*.yml]\n", RULE_FILE.replace("> 1", "> > 1"))
    with pytest.raises(ConfigError) as caught:
        load_rules(load_config(path, env={}))
    ref, text = caught.value.problems[0]
    assert ref is not None and ref.file.endswith("api.yml") and ref.line == 7
    assert "rule ApiErrors" in text


def test_a_missing_rule_file_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "rule_files: [rules/none.yml]\n")
    with pytest.raises(ConfigError, match=r"no rule file matches 'rules/none\.yml'"):
        load_rules(load_config(path, env={}))


def test_the_same_rule_name_twice_is_refused(tmp_path: Path) -> None:
    config = (
        "rule_files: [rules/*.yml]\nalerts:\n  - {name: ApiErrors, condition: error_rate > 5%}\n"
    )
    path = write(tmp_path, config, RULE_FILE)
    with pytest.raises(ConfigError, match="'ApiErrors' is also defined at"):
        load_rules(load_config(path, env={}))


def test_an_unknown_channel_is_refused_with_its_line(tmp_path: Path) -> None:
    config = (
        "channels: {slack: ['json://127.0.0.1:9/x']}\n"
        "alerts:\n  - name: a\n    condition: error_rate > 5%\n    channels: [slak]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(load_config(write(tmp_path, config), env={}))
    ref, text = caught.value.problems[0]
    assert ref is not None and ref.line == 5 and "did you mean 'slack'" in text


@pytest.mark.parametrize(
    ("rule", "line", "fragment"),
    [
        ("    condition: eror_rate > 5%\n", 4, "unknown metric 'eror_rate'"),
        ("    condition: error_rate > 5%\n    message: '{{ $valeu }}'\n", 5, "unknown template"),
        ("    condition: error_rate > 5%\n    for: soon\n", 5, "not a duration"),
        ("    condition: disk_usage > 90\n", 4, "fraction"),
    ],
)
def test_rule_mistakes_are_config_errors_with_their_line(
    tmp_path: Path, rule: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, "alerts:\n  - name: a\n    severity: warning\n" + rule)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    ref, text = caught.value.problems[0]
    assert ref is not None and ref.line == line, text
    assert fragment in text


def test_repeat_interval_shorter_than_group_interval_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerts:\n  - name: a\n    condition: error_rate > 5%\n    repeat_interval: 10s\n",
    )
    with pytest.raises(
        ConfigError, match="repeat_interval must not be shorter than group_interval"
    ):
        load_rules(load_config(path, env={}))


def test_default_rules_of_jobs_load_and_a_configured_rule_replaces_one(tmp_path: Path) -> None:
    config = (
        "schedules:\n"
        "  - {name: nightly, cron: '0 2 * * *', command: /bin/true}\n"
        "alerts:\n"
        "  - {name: job_failed_nightly, condition: error_rate > 5%, severity: critical}\n"
    )
    rules = {r.name: r for r in load_rules(load_config(write(tmp_path, config), env={}))}
    assert rules["job_failed_nightly"].condition == "error_rate > 5%"
    assert rules["job_overdue_nightly"].compiled.dialect == "prometheus"
