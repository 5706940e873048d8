from __future__ import annotations

import json
from pathlib import Path


def test_open_update_ack_resolve_and_show_from_the_command_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    opened = cli(
        "incident", "open", "--title", "Search down", "--severity", "P2", "--as", "alice", "--json"
    )
    assert opened.exit_code == 0, opened.stderr
    incident_id = str(json.loads(opened.stdout)["incident"]["id"])
    assert (
        cli(
            "incident",
            "update",
            incident_id,
            "--status",
            "identified",
            "-m",
            "index corrupt",
            "--as",
            "bob",
        ).exit_code
        == 0
    )
    assert cli("incident", "ack", incident_id, "--as", "bob").exit_code == 0
    assert cli("incident", "assign", incident_id, "--commander", "carol").exit_code == 0
    assert (
        cli(
            "incident", "resolve", incident_id, "--root-cause", "bad deploy", "--as", "carol"
        ).exit_code
        == 0
    )
    shown = json.loads(cli("incident", "show", incident_id, "--json").stdout)["incident"]
    assert shown["status"] == "resolved"
    assert [e["kind"] for e in shown["timeline"]] == [
        "opened",
        "status",
        "update",
        "acknowledged",
        "commander",
        "status",
    ]
    listed = json.loads(cli("incident", "list", "--open", "--json").stdout)
    assert listed["incidents"] == []


def test_a_wrong_transition_exits_1_and_an_unknown_incident_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    cli("incident", "open", "--title", "x", "--severity", "P3")
    result = cli("incident", "close", "1")
    assert result.exit_code == 1
    assert "cannot become closed" in result.stderr
    assert cli("incident", "ack", "99").exit_code == 2


def test_postmortem_writes_markdown_with_action_items(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("incident", "open", "--title", "Queue stuck", "--severity", "P2")
    assert (
        cli(
            "incident",
            "action",
            "add",
            "1",
            "add queue depth alert",
            "--owner",
            "dave",
            "--due",
            "2026-02-01",
        ).exit_code
        == 0
    )
    assert cli("incident", "action", "update", "1", "--status", "done").exit_code == 0
    out = tmp_path / "pm.md"
    assert cli("incident", "postmortem", "1", "--out", str(out)).exit_code == 0
    assert "| add queue depth alert | dave | 2026-02-01 | done |" in out.read_text()


def test_a_bad_due_date_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    cli("incident", "open", "--title", "x", "--severity", "P3")
    result = cli("incident", "action", "add", "1", "thing", "--due", "tomorrow")
    assert result.exit_code == 2
    assert "write YYYY-MM-DD" in result.stderr
