"""`backups:` in opsbook.yaml: what a target needs, and errors that name the place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsbook.config import config_from_data, load_config
from opsbook.errors import ConfigError

POSTGRES = {"name": "main", "type": "postgres", "url": "postgresql://db/app", "destination": "b"}


def test_a_target_with_defaults_loads() -> None:
    [target] = config_from_data({"backups": [POSTGRES]}).settings.backups
    assert (target.destination.url, target.destination.is_s3, target.rpo) == ("b", False, 86400.0)
    retention = target.retention
    assert (retention.keep_last, retention.keep_daily, retention.keep_weekly) == (3, 7, 4)
    assert (retention.keep_monthly, target.rto, target.smoke_queries) == (6, None, [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": None}, "a postgres backup needs `url`"),
        ({"type": "sqlite", "url": None}, "a sqlite backup needs `path`"),
        ({"type": "files", "path": "x", "smoke_queries": ["SELECT 1"]}, "smoke_queries apply"),
        ({"exclude": ["*.tmp"]}, "exclude applies to files backups only"),
        ({"type": "mysql"}, "type"),
        ({"destination": "ftp://host/x"}, "a destination is a folder or s3://bucket/prefix"),
        ({"destination": "s3:///prefix"}, "an S3 destination names its bucket"),
        ({"offsite": "b/"}, "offsite names the destination itself"),
        ({"offsite": "s3:///prefix"}, "an S3 destination names its bucket"),
        ({"retention": {"keep_daily": -1}}, "keep_daily"),
        ({"retention": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"rpo": "soon"}, "rpo"),
        ({"name": "has space"}, "name"),
    ],
)
def test_a_bad_target_is_refused(change: dict[str, object], message: str) -> None:
    target = {k: v for k, v in {**POSTGRES, **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_data({"backups": [target]})


def test_an_offsite_store_takes_the_destination_settings() -> None:
    offsite = {"url": "s3://far/opsbook", "endpoint": "https://s3.far", "secret_access_key": "k"}
    [target] = config_from_data({"backups": [{**POSTGRES, "offsite": offsite}]}).settings.backups
    assert target.offsite is not None and target.offsite.is_s3
    assert (target.offsite.endpoint, repr(target.offsite.secret_access_key)) == (
        "https://s3.far",
        "SecretStr('**********')",
    )
    [plain] = config_from_data({"backups": [{**POSTGRES, "offsite": "/mnt/far"}]}).settings.backups
    assert plain.offsite is not None and plain.offsite.url == "/mnt/far"


def test_target_names_are_unique() -> None:
    with pytest.raises(ConfigError, match="two backups are named 'main'"):
        config_from_data({"backups": [POSTGRES, POSTGRES]})


def test_an_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        "backups:\n"
        "  - name: main\n"
        "    type: postgres\n"
        "    url: postgresql://db/app\n"
        "    destination: b\n"
        "    retention: {keep_last: many}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert f"{path}:6: backups[0].retention.keep_last" in str(caught.value)
