from __future__ import annotations

import json

import pytest

from tests.services import scratch_postgres


def test_db_upgrade_creates_the_embedded_store(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert "applied 0001_journal" in result.stdout
    status = cli("db", "status", "--json")
    assert status.exit_code == 0
    assert json.loads(status.stdout)["pending"] == []


@pytest.mark.postgres
def test_db_status_exits_1_while_migrations_are_pending_on_postgres(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with scratch_postgres() as url:
        monkeypatch.setenv("OPSBOOK_DATABASE_URL", url)
        assert cli("db", "status").exit_code == 1
        assert cli("db", "upgrade").exit_code == 0
        assert cli("db", "status").exit_code == 0


def test_a_config_error_exits_2_with_file_and_line(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "opsbook.yaml").write_text("data_dir: x\nbogus: 1\n")
    result = cli("db", "status")
    assert result.exit_code == 2
    assert "opsbook.yaml:2: bogus: unknown setting" in result.stderr


def test_version_prints_and_exits_0(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("opsbook ")


def test_a_usage_error_exits_2_with_the_usage_line(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "upgrade", "--bogus")
    assert result.exit_code == 2
    assert "No such option: --bogus" in result.stderr
