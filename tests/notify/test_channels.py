from __future__ import annotations

import random
from pathlib import Path

import pytest

from opsbook.config import load_config
from opsbook.config.channels import ChannelConfig, check_channel_references, parse_rate
from opsbook.errors import ConfigError
from opsbook.notify.backoff import base_delay, retry_delay, schedule
from opsbook.notify.destinations import ChannelSet, parse_destination
from opsbook.notify.model import TransportKind
from tests.notify.conftest import make_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(text)
    return path


def test_a_channel_may_be_written_as_its_urls() -> None:
    config = make_config({"slack": "json://127.0.0.1:9/h", "pd": ["pagerduty://rk"]})
    assert config.settings.channels["slack"].urls == ["json://127.0.0.1:9/h"]
    assert config.settings.channels["pd"].max_attempts == 15


def test_an_unknown_url_scheme_is_a_config_error_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "channels:\n  ops:\n    - json://127.0.0.1:9/ok\n    - slak://T/B/C\n")
    with pytest.raises(ConfigError) as caught:
        ChannelSet.from_config(load_config(path, env={}))
    assert str(caught.value).startswith(f"{path}:4: channels.ops.urls[1]: slak://")


def test_a_url_without_a_scheme_is_rejected_when_the_config_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, "channels:\n  ops:\n    urls: [hooks.example.com/x]\n")
    with pytest.raises(ConfigError, match=r"opsbook.yaml:3: channels.ops.urls: .* is not a URL"):
        load_config(path, env={})


def test_a_reference_to_an_undefined_channel_is_reported_with_file_and_line(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "channels:\n  slack: [json://127.0.0.1:9/h]\n")
    config = load_config(path, env={})
    check_channel_references(config, [(("channels", "slack"), "slack")])
    with pytest.raises(ConfigError) as caught:
        check_channel_references(config, [(("channels", "slack"), "slak"), (("x", 0), "pd")])
    texts = [text for _, text in caught.value.problems]
    assert texts == [
        "channels.slack: unknown channel 'slak' (did you mean 'slack'?); channels: defines slack",
        "x[0]: unknown channel 'pd'; channels: defines slack",
    ]
    assert str(caught.value.problems[0][0]) == f"{path}:2"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rate": "fast"}, "rate 'fast' is not COUNT/DURATION"),
        ({"body_template": "{{ body "}, "invalid template"),
        ({"backoff_initial": "5m", "backoff_max": "1m"}, "backoff_max must be at least"),
        ({"max_attempts": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_channel_settings_are_config_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config({"ops": {"urls": ["json://127.0.0.1:9/h"], **settings}})


def test_a_channel_name_must_be_a_plain_word() -> None:
    with pytest.raises(ConfigError, match="must start with a letter"):
        make_config({"on call": ["json://127.0.0.1:9/h"]})


def test_a_rate_reads_count_per_duration() -> None:
    assert parse_rate("30/1m") == (30, 60.0)
    assert parse_rate("30/m") == (30, 60.0)
    assert parse_rate("5 / 10s") == (5, 10.0)


@pytest.mark.parametrize(
    ("url", "kind", "display", "secrets"),
    [
        (
            "json://bob:pw-s3cret@127.0.0.1:9/hook",
            TransportKind.APPRISE,
            "json://bob:••••••@127.0.0.1:9/hook",
            {"pw-s3cret"},
        ),
        (
            "slack://T1234ABCD/B1234ABCD/abcdefghijklmnopqrstuvwx/#ops",
            TransportKind.APPRISE,
            "slack://T...D/B...D/a...x/#ops",
            {"T1234ABCD", "B1234ABCD", "abcdefghijklmnopqrstuvwx"},
        ),
        (
            "mailtos://alerts:hunter22@example.com?to=oncall@example.com",
            TransportKind.APPRISE,
            "mailtos://alerts:••••••@example.com?to=oncall@example.com",
            {"hunter22"},
        ),
        (
            "pagerduty://R0UTINGKEY123@APIKEY456/db",
            TransportKind.PAGERDUTY,
            "pagerduty://R...3@A...6/db",
            {"R0UTINGKEY123", "APIKEY456"},
        ),
        (
            "slack+https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX",
            TransportKind.SLACK,
            "slack+https://hooks.slack.com/services/T0001/B0002/X...X",
            {"XXXXXXXXXXXXXXXXXXXXXXXX"},
        ),
        (
            "ntfy://ntfy.example.com/alerts?token=tk_AbCdEf123456",
            TransportKind.APPRISE,
            "ntfy://ntfy.example.com/alerts?token=t...6",
            {"tk_AbCdEf123456"},
        ),
        (
            "gotify://gotify.example.com/Tok3nAbcdefgh",
            TransportKind.APPRISE,
            "gotify://gotify.example.com/T...h",
            {"Tok3nAbcdefgh"},
        ),
    ],
)
def test_every_secret_in_a_url_is_masked_in_its_display(
    url: str, kind: TransportKind, display: str, secrets: set[str]
) -> None:
    destination = parse_destination("ops", 0, url)
    assert destination.kind is kind
    assert destination.display == display
    assert secrets <= destination.secrets
    assert url not in repr(destination)


def test_the_channels_teach_their_secrets_to_the_config_redactor() -> None:
    config = make_config({"ops": ["json://bob:pw-s3cret@127.0.0.1:9/hook"]})
    ChannelSet.from_config(config)
    assert config.redactor.redact("failed with pw-s3cret") == "failed with ••••••"


def test_a_webhook_url_needs_a_host_and_a_real_port() -> None:
    with pytest.raises(ValueError, match="port outside"):
        parse_destination("ops", 0, "slack+http://127.0.0.1:99999/x")
    with pytest.raises(ValueError, match="needs a host"):
        parse_destination("ops", 0, "slack+https:///x")


def test_a_pagerduty_url_needs_a_known_region() -> None:
    with pytest.raises(ValueError, match="region 'mars'"):
        parse_destination("pd", 0, "pagerduty://key?region=mars")


def test_the_back_off_doubles_up_to_the_cap() -> None:
    assert [base_delay(n, 10, 600) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]
    settings = ChannelConfig(urls=["json://x"])
    assert sum(schedule(settings)) == pytest.approx(90.5 * 60)


def test_jitter_stays_within_its_spread_and_never_passes_the_cap() -> None:
    settings = ChannelConfig(urls=["json://x"], backoff_jitter=0.2)
    rand = random.Random(3)
    early = [retry_delay(settings, 2, rand) for _ in range(200)]
    assert min(early) >= 16 and max(early) <= 24 and len(set(early)) > 100
    late = [retry_delay(settings, 12, rand) for _ in range(200)]
    assert min(late) >= 480 and max(late) <= 600


def test_a_receivers_retry_after_wins_when_longer() -> None:
    settings = ChannelConfig(urls=["json://x"], backoff_jitter=0)
    assert retry_delay(settings, 1, random.Random(), receiver_asked=300) == 300
    assert retry_delay(settings, 1, random.Random(), receiver_asked=2) == 10
    assert retry_delay(settings, 1, random.Random(), receiver_asked=86400) == 3600
