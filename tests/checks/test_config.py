from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.checks.specs import configured_checks
from opsbook.config import load_config
from opsbook.config.checks import HttpCheck, LogCheck
from opsbook.errors import ConfigError, NotFoundError


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "opsbook.yaml"
    path.write_text(text)
    return load_config(path, env={})


def test_checks_are_told_apart_by_type_with_their_defaults(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "checks:\n"
        "  - {name: api, type: http, url: 'https://x/health', interval: 15s, fail: 3 of 5}\n"
        "  - {name: errors, type: log, path: app.log, patterns: {errors: ERROR}}\n",
    )
    api, errors = config.settings.checks
    assert isinstance(api, HttpCheck) and isinstance(errors, LogCheck)
    assert (api.interval, api.timeout, api.fail, api.critical) == (15.0, 10.0, (3, 5), True)
    assert errors.timeout == 10.0


def test_a_short_interval_gets_a_timeout_within_it(tmp_path: Path) -> None:
    config = _load(tmp_path, "checks:\n  - {name: a, type: tcp, host: h, port: 1, interval: 2s}\n")
    assert config.settings.checks[0].timeout == pytest.approx(1.6)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "{name: a, type: tcp, host: h, port: 1, interval: 5s, timeout: 9s}",
            "checks[0].timeout: timeout (9s)",
        ),
        ("{name: a, type: tcp, host: h, port: 1, fail: 6 of 5}", "checks[0].fail: '6 of 5' needs"),
        (
            "{name: a, type: tcp, host: h, port: 1, fail: often}",
            "checks[0].fail: write it as 'M of N'",
        ),
        ("{name: a, type: tcp, host: h, port: 1, retries: 2, fail: 2 of 3}", "not both"),
        ("{name: a, type: htp, url: x}", "checks[0]"),
        ("{name: a, type: http, url: 'ftp://x'}", "checks[0].url"),
        ("{name: a, type: http, url: 'http://x', expect_status: 2yy}", "checks[0].expect_status"),
        ("{name: a, type: log, path: x}", "checks[0].access_log: give patterns"),
        ("{name: a, type: log, path: x, patterns: {e: '('}}", "checks[0].patterns: e: invalid"),
        ("{name: 'a b', type: tcp, host: h, port: 1}", "checks[0].name"),
    ],
)
def test_bad_checks_are_reported_with_file_line_and_setting(
    tmp_path: Path, line: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"checks:\n  - {line}\n")
    assert str(caught.value).startswith(f"{tmp_path / 'opsbook.yaml'}:2: ")
    assert message in str(caught.value)


def test_two_checks_with_one_name_are_refused(tmp_path: Path) -> None:
    text = "checks:\n  - {name: a, type: memory}\n  - {name: a, type: disk}\n"
    with pytest.raises(ConfigError, match="two checks are named 'a'"):
        _load(tmp_path, text)


def test_a_postgres_check_must_name_a_known_connection(tmp_path: Path) -> None:
    config = _load(tmp_path, "checks:\n  - name: db\n    type: postgres\n    connection: main\n")
    with pytest.raises(ConfigError) as caught:
        configured_checks(config)
    assert str(caught.value).startswith(
        f"{tmp_path / 'opsbook.yaml'}:4: checks[0]: unknown connection"
    )


def test_only_picks_named_checks_and_refuses_unknown_names(tmp_path: Path) -> None:
    config = _load(tmp_path, "checks:\n  - {name: a, type: memory}\n  - {name: b, type: disk}\n")
    assert [c.name for c in configured_checks(config, ["b"])] == ["b"]
    with pytest.raises(NotFoundError, match="no check named c"):
        configured_checks(config, ["c"])


def test_disabled_checks_are_left_out(tmp_path: Path) -> None:
    config = _load(tmp_path, "checks:\n  - {name: a, type: memory, enabled: false}\n")
    assert configured_checks(config) == []


def test_a_secret_written_into_a_command_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        "checks:\n  - name: backup\n    type: command\n"
        "    command: pg_dump --password ${DB_PASSWORD} app\n"
    )
    config = load_config(path, env={"DB_PASSWORD": "s3cret-value"})
    with pytest.raises(ConfigError, match="pass it in `env:`") as caught:
        configured_checks(config)
    assert "s3cret-value" not in str(caught.value)


def test_a_secret_passed_as_environment_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        "checks:\n  - name: backup\n    type: command\n"
        "    command: pg_isready\n    env: {PGPASSWORD: '${DB_PASSWORD}'}\n"
    )
    config = load_config(path, env={"DB_PASSWORD": "s3cret-value"})
    assert [c.name for c in configured_checks(config)] == ["backup"]
