from __future__ import annotations

import json
from pathlib import Path

from opsbook.alerts.language.evaluate import Outcome
from opsbook.alerts.rules import load_rules
from opsbook.alerts.service import record_cycle
from opsbook.clock import SystemClock
from opsbook.config import load_config
from opsbook.journal import service as journal
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade

CONFIG = """\
database_url: sqlite:///{db}
alerts:
  - name: high_error_rate
    condition: error_rate > 5%
    severity: critical
    runbook: runbooks/web.md#errors
    annotations: {{summary: "Error rate {{{{ $value }}}}"}}
thresholds:
  - {{metric: P95 Latency, green: "< 500ms", yellow: "500-1000ms", red: "> 1000ms"}}
"""


def setup(tmp_path: Path) -> Path:
    """A config and a store holding one firing alert."""
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "store.db"))
    config = load_config(path, env={})
    db = Database(config.database_url)
    upgrade(db)
    rules = load_rules(config)
    with db.write() as session:
        outcome = Outcome({(("check", "api"),): (0.083, True)})
        record_cycle(session, SystemClock(), rules, {"high_error_rate": outcome})
    db.dispose()
    return path


def test_alerts_list_shows_the_firing_alert_as_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    result = cli("alerts", "list", "--config", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    [alert] = json.loads(result.stdout)["alerts"]
    assert alert["state"] == "firing" and alert["display"] == "8.3%"
    assert alert["labels"]["check"] == "api" and alert["severity"] == "critical"
    assert alert["runbook"] == "runbooks/web.md#errors"


def test_alerts_show_lists_transitions_and_templated_annotations(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    result = cli("alerts", "show", "high_error_rate", "--config", str(config), "--json")
    detail = json.loads(result.stdout)["alert"]
    assert detail["annotations"] == {"summary": "Error rate 8.3%"}
    assert [(t["from"], t["to"], t["value"]) for t in detail["transitions"]] == [
        ("inactive", "firing", 0.083)
    ]
    table = cli("alerts", "show", str(detail["id"]), "--config", str(config))
    assert "inactive" in table.stdout and "firing" in table.stdout


def test_ack_and_silence_are_journaled_with_the_actor(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    ack = cli(
        "alerts",
        "ack",
        "high_error_rate",
        "--by",
        "alice",
        "-m",
        "looking",
        "--config",
        str(config),
    )
    assert ack.exit_code == 0, ack.stderr
    made = cli(
        "alerts",
        "silence",
        "-m",
        "alertname=high_error_rate",
        "--for",
        "2h",
        "--comment",
        "deploy",
        "--by",
        "bob",
        "--config",
        str(config),
        "--json",
    )
    silence = json.loads(made.stdout)["silence"]
    assert silence["matchers"] == ['alertname="high_error_rate"'] and silence["active"]
    listed = json.loads(cli("alerts", "silences", "--config", str(config), "--json").stdout)
    assert [s["id"] for s in listed["silences"]] == [silence["id"]]
    lifted = cli(
        "alerts", "unsilence", str(silence["id"]), "--by", "carol", "--config", str(config)
    )
    assert lifted.exit_code == 0
    db = Database(load_config(config, env={}).database_url)
    with db.read() as session:
        entries = [(e.action, e.actor) for e in journal.entries(session, action_prefix="alerts.")]
    db.dispose()
    assert entries == [
        ("alerts.unsilence", "carol"),
        ("alerts.silence", "bob"),
        ("alerts.ack", "alice"),
    ]


def test_acknowledging_twice_is_a_conflict(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    assert cli("alerts", "ack", "high_error_rate", "--config", str(config)).exit_code == 0
    again = cli("alerts", "ack", "high_error_rate", "--config", str(config))
    assert again.exit_code == 1 and "already acknowledged" in again.stderr


def test_a_silence_needs_a_comment_and_an_expiry(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    no_comment = cli(
        "alerts", "silence", "-m", "severity=critical", "--for", "1h", "--config", str(config)
    )
    assert no_comment.exit_code == 2 and "comment" in no_comment.stderr
    neither = cli(
        "alerts", "silence", "-m", "severity=critical", "--comment", "x", "--config", str(config)
    )
    assert neither.exit_code == 2


def test_an_unknown_alert_is_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    result = cli("alerts", "show", "9999", "--config", str(config))
    assert result.exit_code == 2 and "no alert '9999'" in result.stderr


def test_rules_and_thresholds_list_as_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    rules = json.loads(cli("alerts", "rules", "--config", str(config), "--json").stdout)
    assert [r["name"] for r in rules["rules"]] == ["high_error_rate"]
    assert rules["rules"][0]["source"].endswith("opsbook.yaml:3")
    thresholds = json.loads(cli("alerts", "thresholds", "--config", str(config), "--json").stdout)
    assert thresholds["thresholds"] == [
        {
            "metric": "P95 Latency",
            "labels": {},
            "value": None,
            "display": "no data",
            "color": "unknown",
        }
    ]
