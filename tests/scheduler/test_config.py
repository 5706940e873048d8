from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from opsbook.config import config_from_data, load_config
from opsbook.errors import ConfigError
from opsbook.scheduler.rules import default_rules

IMPORTED = """\
schedules:
  - name: database-backup
    cron: "0 */6 * * *"
    timezone: UTC
    command: /scripts/backup-database.sh
  - name: log-rotation
    cron: "0 2 * * *"
    timezone: UTC
    command: /scripts/rotate-logs.sh
"""


def test_the_shape_import_writes_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(IMPORTED)
    specs = load_config(path, env={}).settings.schedules
    assert [(s.name, s.cron, s.kind, s.target) for s in specs] == [
        ("database-backup", "0 */6 * * *", "command", "/scripts/backup-database.sh"),
        ("log-rotation", "0 2 * * *", "command", "/scripts/rotate-logs.sh"),
    ]
    assert (specs[0].overlap, specs[0].missed, specs[0].timeout) == ("skip", "run-once", 3600.0)


def test_an_invalid_cron_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(IMPORTED.replace('"0 2 * * *"', '"61 2 * * *"'))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert f"{path}:7: schedules[1].cron: invalid cron expression" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": "backup main"}, "exactly one of command, procedure or action"),
        ({"command": None}, "exactly one of command, procedure or action (got none)"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"overlap": "parallel"}, "overlap"),
        ({"command": None, "procedure": "runbooks/db.md"}, "path/to/runbook.md#anchor"),
        ({"confirm": True}, "confirm applies to procedure jobs only"),
    ],
)
def test_a_bad_schedule_is_refused(change: dict[str, object], message: str) -> None:
    job = {"name": "x", "cron": "* * * * *", "command": "true", **change}
    job = {k: v for k, v in job.items() if v is not None}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config_from_data({"schedules": [job]})


def test_job_names_are_unique() -> None:
    job = {"name": "x", "cron": "* * * * *", "command": "true"}
    with pytest.raises(ConfigError, match="two schedules are named 'x'"):
        config_from_data({"schedules": [job, job]})


def test_each_enabled_job_gets_a_failed_and_an_overdue_rule() -> None:
    config = config_from_data(yaml.safe_load(IMPORTED))
    rules = default_rules(config)
    assert [r["name"] for r in rules] == [
        "job_failed_database-backup",
        "job_overdue_database-backup",
        "job_failed_log-rotation",
        "job_overdue_log-rotation",
    ]
    assert rules[1]["expr"] == 'job_overdue{job="database-backup"} == 1'
