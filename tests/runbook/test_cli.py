"""`opsbook parse`, `opsbook lint` and `opsbook import` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.runbook.conftest import SEED_FILES, seed_path

TOP_KEYS = {
    "schema_version",
    "title",
    "source",
    "sections",
    "procedures",
    "blocks",
    "alert_rules",
    "schedules",
    "thresholds",
    "severities",
    "escalation",
    "templates",
    "checklists",
    "variables",
    "warnings",
}


def _parse_json(cli: Any, path: Path) -> dict[str, Any]:
    result = cli("parse", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_parse_json_has_the_documented_top_level_keys(cli: Any) -> None:
    document = _parse_json(cli, seed_path("000"))
    assert set(document) >= TOP_KEYS
    assert document["schema_version"] == 1
    assert document["title"] == "Operational Runbooks"


def test_parse_json_names_the_fields_scripts_rely_on(cli: Any) -> None:
    documents = [_parse_json(cli, path) for path in SEED_FILES]
    every = {
        key: [item for d in documents for item in d[key]]
        for key in TOP_KEYS - {"schema_version", "title", "source"}
    }
    procedure = every["procedures"][0]
    assert {"title", "slug", "line", "steps"} <= set(procedure)
    step = procedure["steps"][0]
    assert {
        "number",
        "title",
        "kind",
        "language",
        "code",
        "line",
        "variables",
        "tools",
        "danger",
    } <= set(step)
    assert {"line", "language", "role"} <= set(every["blocks"][0])
    rule = every["alert_rules"][0]
    assert {"name", "severity", "channels", "for_seconds", "condition", "expr"} <= set(rule)
    assert {"cron", "command"} <= set(every["schedules"][0])
    assert {"metric", "green", "yellow", "red"} <= set(every["thresholds"][0])
    assert {"level", "name", "response_seconds"} <= set(every["severities"][0])
    assert {"level", "target", "after_seconds"} <= set(every["escalation"][0])
    assert {"name", "body", "fields"} <= set(every["templates"][0])
    checklist = every["checklists"][0]
    assert {"title", "items"} <= set(checklist) and {"text", "checked"} <= set(
        checklist["items"][0]
    )


def test_parse_json_step_numbers_and_parts_agree(cli: Any) -> None:
    document = _parse_json(cli, seed_path("000"))
    procedure = next(
        p for p in document["procedures"] if p["title"] == "Database Connection Issues"
    )
    assert [s["number"] for s in procedure["steps"]] == list(range(1, 10))
    diagnosis = next(p for p in procedure["parts"] if p["role"] == "diagnosis")
    assert diagnosis["steps"] == [1, 2, 3, 4, 5]
    assert procedure["steps"][5]["danger"] == ["pg_terminate_backend"]


def test_parse_prints_an_outline(cli: Any) -> None:
    result = cli("parse", str(seed_path("000")))
    assert result.exit_code == 0
    assert "Application Restart" in result.stdout
    assert "5. Restart application" in result.stdout
    assert "Alert rules (5)" in result.stdout


def test_parse_warns_on_stderr_and_still_succeeds(cli: Any) -> None:
    result = cli("parse", str(seed_path("004")))
    assert result.exit_code == 0
    assert "mojibake" in result.stderr


def test_parse_of_invalid_bytes_exits_2_with_the_line(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("# Café\n\nRésumé\n".encode("latin-1"))
    result = cli("parse", str(path))
    assert result.exit_code == 2
    assert f"{path}:1:" in result.stderr and "not UTF-8" in result.stderr


def test_parse_of_a_missing_file_exits_2(cli: Any, tmp_path: Path) -> None:
    result = cli("parse", str(tmp_path / "missing.md"))
    assert result.exit_code == 2


def test_lint_prints_file_line_level_message(cli: Any) -> None:
    result = cli("lint", str(seed_path("000")))
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if "waits-forever" in x)
    assert line.startswith(f"{seed_path('000')}:167: warning: step 9 ('Monitor recovery')")


def test_lint_exits_1_on_errors(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text(
        "# R\n\n## Fix\n\n```bash {timeout=soon}\nuptime\n```\n\n```cron\nnot a line\n```\n"
    )
    result = cli("lint", str(path))
    assert result.exit_code == 1
    assert f"{path}:6: error:" in result.stdout
    assert f"{path}:10: error:" in result.stdout


def test_lint_json_counts_problems(cli: Any) -> None:
    result = cli("lint", *[str(p) for p in SEED_FILES], "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["errors"] == 0 and document["warnings"] > 0
    assert [f["source"] for f in document["files"]] == [str(p) for p in SEED_FILES]
    assert {"line", "level", "code", "message"} <= set(document["files"][0]["problems"][0])


def test_import_writes_one_fragment_per_runbook_that_loads_back(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "imported"
    result = cli("import", *[str(p) for p in SEED_FILES], "--out", str(out))
    assert result.exit_code == 0, result.stderr
    written = sorted(out.glob("*.yaml"))
    assert [p.stem for p in written] == [p.stem for p in SEED_FILES]
    for path in written:
        fragment = yaml.safe_load(path.read_text())
        assert set(fragment) <= {"alerts", "thresholds", "schedules", "incidents"}
        _check_shapes(fragment)


def _check_shapes(fragment: dict[str, Any]) -> None:
    for rule in fragment.get("alerts", []):
        assert {"name", "for", "severity", "channels", "message", "labels", "annotations"} <= set(
            rule
        )
        assert ("condition" in rule) != ("expr" in rule)
        assert isinstance(rule["channels"], list) and isinstance(rule["for"], str)
    for row in fragment.get("thresholds", []):
        assert set(row) == {"metric", "green", "yellow", "red"}
    for schedule in fragment.get("schedules", []):
        assert {"name", "cron", "timezone"} <= set(schedule)
        assert len(schedule["cron"].split()) == 5
        assert len({"command", "procedure", "action"} & set(schedule)) == 1
    incidents = fragment.get("incidents", {})
    for severity in incidents.get("severities", []):
        assert {"level", "name", "description"} <= set(severity)
    for level in incidents.get("escalation", []):
        assert set(level) == {"level", "target", "after"}
    for name, body in incidents.get("templates", {}).items():
        assert isinstance(name, str) and isinstance(body, str)


def test_imported_seed_fragments_hold_the_expected_content(cli: Any, tmp_path: Path) -> None:
    cli("import", *[str(p) for p in SEED_FILES], "--out", str(tmp_path))
    loaded = {p.stem[:3]: yaml.safe_load(p.read_text()) for p in tmp_path.glob("*.yaml")}
    first = loaded["000"]["alerts"][0]
    assert first == {
        "name": "high_error_rate",
        "condition": "error_rate > 0.05",
        "for": "5m",
        "severity": "critical",
        "channels": ["pagerduty", "slack"],
        "message": "Error rate exceeded 5% for 5 minutes",
        "labels": {},
        "annotations": {},
    }
    assert loaded["000"]["schedules"] == [
        {
            "name": "log-rotation",
            "cron": "0 2 * * *",
            "timezone": "UTC",
            "procedure": f"{seed_path('000')}#2-log-rotation",
        }
    ]
    assert loaded["003"]["alerts"][0]["expr"].startswith("rate(http_requests_total")
    assert loaded["003"]["alerts"][0]["for"] == "2m"
    assert [s["response"] for s in loaded["001"]["incidents"]["severities"]] == [
        "15m",
        "1h",
        "4h",
        "1d",
    ]
    assert loaded["001"]["incidents"]["templates"]["initial"].startswith("INCIDENT: {{ title }}\n")
    assert loaded["002"]["incidents"]["escalation"][1] == {
        "level": 2,
        "target": "Engineering lead",
        "after": "30m",
    }
    assert len(loaded["004"]["schedules"]) == 7
    assert loaded["004"]["schedules"][0] == {
        "name": "database-backup",
        "cron": "0 */6 * * *",
        "timezone": "UTC",
        "command": "/scripts/backup-database.sh",
    }


def test_import_links_a_rule_to_the_procedure_named_like_it(cli: Any, tmp_path: Path) -> None:
    cli("import", str(seed_path("002")), "--out", str(tmp_path))
    (path,) = tmp_path.glob("*.yaml")
    rules = {r["name"]: r for r in yaml.safe_load(path.read_text())["alerts"]}
    assert rules["HighErrorRate"]["runbook"] == f"{seed_path('002')}#high-error-rate"
    assert "runbook" not in rules["LowDiskSpace"]


def test_import_refuses_two_runbooks_with_the_same_name(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "ops.md").write_text("# R\n\n```cron\n0 1 * * * /bin/true\n```\n")
    result = cli(
        "import",
        str(tmp_path / "a" / "ops.md"),
        str(tmp_path / "b" / "ops.md"),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 2
    assert not (tmp_path / "out" / "ops.yaml").exists()


def test_import_skips_a_runbook_with_nothing_to_import(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("# Notes\n\nNothing here.\n")
    result = cli("import", str(path), "--out", str(tmp_path / "out"), "--json")
    assert json.loads(result.stdout)["files"][0]["path"] is None
    assert list((tmp_path / "out").glob("*.yaml")) == []
