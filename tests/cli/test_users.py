"""`opsbook user` and `opsbook token`."""

from __future__ import annotations

import io
import json

import pytest

from opsbook.accounts import passwords


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "LOG2_N", 10)


def test_a_user_is_added_with_a_password_from_stdin(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    added = cli("user", "add", "alice", "--role", "responder", "--password-stdin")
    assert added.exit_code == 0, added.stderr
    listed = json.loads(cli("user", "list", "--json").stdout)
    assert listed["schema_version"] == 1
    assert listed["users"][0]["name"] == "alice" and listed["users"][0]["role"] == "responder"
    assert "a-long-password" not in added.stdout


def test_a_generated_password_is_printed_once(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("user", "add", "bob", "--generate")
    assert result.exit_code == 0
    assert "Password (shown once):" in result.stdout


def test_a_weak_password_is_bad_input(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    result = cli("user", "add", "carol", "--password-stdin")
    assert result.exit_code == 2
    assert "at least 8" in result.stderr


def test_a_token_is_shown_when_created_and_never_listed(cli) -> None:  # type: ignore[no-untyped-def]
    created = cli("token", "create", "ci", "--role", "viewer", "--expires", "90d", "--json")
    assert created.exit_code == 0, created.stderr
    document = json.loads(created.stdout)
    secret = document["token"]
    assert secret.startswith("opsb_") and document["expires_at"]
    listed = cli("token", "list", "--json")
    assert secret not in listed.stdout
    assert json.loads(listed.stdout)["tokens"][0]["prefix"] == secret[:12]
    assert cli("token", "revoke", "ci").exit_code == 0
    assert json.loads(cli("token", "list", "--json").stdout)["tokens"][0]["revoked"] is True


def test_an_unknown_role_is_bad_input(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("token", "create", "x", "--role", "emperor").exit_code == 2


def test_revoking_an_unknown_token_is_bad_input(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("token", "revoke", "nope")
    assert result.exit_code == 2
    assert "no token named 'nope'" in result.stderr
