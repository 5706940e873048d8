from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.config import load_config
from opsbook.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(text)
    return path


def test_missing_file_means_defaults_with_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    config = load_config(None, env={})
    assert config.settings.connections == {}
    assert config.database_url.startswith("sqlite:///")
    assert config.database_url.endswith(".opsbook/opsbook.db")


def test_an_unknown_setting_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: x\n\ndatabse_url: sqlite:///x.db\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert (
        str(caught.value)
        == f"{path}:3: databse_url: unknown setting (check the spelling; see docs/configuration.md)"
    )


def test_a_wrong_nested_value_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "connections:\n  main:\n    url: postgresql://x/y\n    statement_timeout: soon\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    ref, text = caught.value.problems[0]
    assert (ref.file, ref.line) == (str(path), 4)
    assert text.startswith("connections.main.statement_timeout: not a duration: 'soon'")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "runbooks: 3\nsecrets: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [ref.line for ref, _ in caught.value.problems if ref] == [1, 2]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: x\nconnections: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.source is not None
    assert caught.value.source.line == 3


def test_a_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: a\ndata_dir: b\n")
    with pytest.raises(ConfigError, match=r":2: duplicate key 'data_dir'"):
        load_config(path, env={})


def test_env_references_are_resolved_and_their_secrets_learned(tmp_path: Path) -> None:
    path = write(tmp_path, "connections:\n  main: postgresql://app:${DB_PASSWORD}@db/app\n")
    config = load_config(path, env={"DB_PASSWORD": "hunter22"})
    assert config.settings.connections["main"].url == "postgresql://app:hunter22@db/app"
    assert config.redactor.redact("password is hunter22") == "password is ••••••"


def test_an_unset_env_reference_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: x\ndatabase_url: ${NOT_SET}\n")
    with pytest.raises(
        ConfigError, match=r"opsbook.yaml:2: environment variable NOT_SET is not set"
    ):
        load_config(path, env={})


def test_env_reference_defaults_and_escapes(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: ${DATA:-/var/lib/opsbook}\nsecrets: ['$${LITERAL}']\n")
    config = load_config(path, env={})
    assert config.settings.data_dir == "/var/lib/opsbook"
    assert config.settings.secrets == ["${LITERAL}"]


def test_opsbook_environment_variables_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite:///file.db\n")
    config = load_config(
        path, env={"OPSBOOK_DATABASE_URL": "postgresql://db/ops", "OPSBOOK_TEST_X": "1"}
    )
    assert config.database_url == "postgresql://db/ops"


def test_a_bad_override_is_blamed_on_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: x\n")
    with pytest.raises(ConfigError, match=r"environment OPSBOOK_RUNBOOKS: runbooks"):
        load_config(path, env={"OPSBOOK_RUNBOOKS": "{a: 1}"})


def test_config_env_variable_selects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: chosen\n")
    config = load_config(None, env={"OPSBOOK_CONFIG": str(path)})
    assert config.data_dir == tmp_path / "chosen"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: state\n")
    assert load_config(path, env={}).data_dir == tmp_path / "state"


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml", env={})


def test_invalid_utf8_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_bytes(b"data_dir: x\nsecrets: ['\xff']\n")
    with pytest.raises(ConfigError, match=r"opsbook.yaml:2: not valid UTF-8"):
        load_config(path, env={})


def test_included_files_are_merged_and_keep_their_own_lines(tmp_path: Path) -> None:
    (tmp_path / "imported").mkdir()
    (tmp_path / "imported" / "a.yaml").write_text(
        "connections:\n  a: postgresql://h/a\nsecrets: [A]\n"
    )
    (tmp_path / "imported" / "b.yaml").write_text("secrets: [B]\nrunbooks:\n  - x.md\n  - 7\n")
    path = write(tmp_path, "include: [imported/*.yaml]\nsecrets: [MAIN]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    ref, text = caught.value.problems[0]
    assert (ref.file, ref.line) == (str(tmp_path / "imported" / "b.yaml"), 4)
    assert text.startswith("runbooks[1]:")


def test_included_lists_concatenate_and_mappings_combine(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("connections:\n  b: postgresql://h/b\nsecrets: [B]\n")
    path = write(
        tmp_path, "include: more.yaml\nconnections:\n  a: postgresql://h/a\nsecrets: [A]\n"
    )
    config = load_config(path, env={})
    assert sorted(config.settings.connections) == ["a", "b"]
    assert config.settings.secrets == ["A", "B"]


def test_a_setting_made_in_two_files_is_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("data_dir: two\n")
    path = write(tmp_path, "include: [more.yaml]\ndata_dir: one\n")
    with pytest.raises(ConfigError, match=r"more.yaml:1: data_dir: also set at .*opsbook.yaml:2"):
        load_config(path, env={})


def test_a_missing_included_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "include: [absent.yaml]\n")
    with pytest.raises(
        ConfigError, match=r"opsbook.yaml:1: include\[0\]: no such file 'absent.yaml'"
    ):
        load_config(path, env={})
