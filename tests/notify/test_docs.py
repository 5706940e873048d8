"""docs/notifications.md keeps up with the code: every JSON field and CLI option is documented."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer.main

from opsbook.cli.commands.notify import app as notify_app
from opsbook.config.channels import ChannelConfig
from opsbook.notify.health import builtin_rules
from tests.conftest import CliResult
from tests.notify.conftest import make_config
from tests.notify.receivers import WebhookReceiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
Cli = Callable[..., CliResult]


def _documented() -> set[str]:
    return set(re.findall(r"`([^`\s]+)`", DOC.read_text()))


def _fields(document: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(document, dict):
        for name, value in document.items():
            path = f"{prefix}.{name}" if prefix else name
            yield path
            if name not in {"counts", "receipt"}:
                yield from _fields(value, path)
    elif isinstance(document, list):
        for item in document:
            yield from _fields(item, f"{prefix}[]")


def test_every_json_field_of_the_notify_commands_is_documented(
    cli: Cli, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    (tmp_path / "opsbook.yaml").write_text(
        f"channels:\n  ops: [slack+http://{receiver.base}/hook, slack+http://127.0.0.1:9/x]\n"
    )
    documents = [
        json.loads(cli("notify", "test", "ops", "--json").stdout),
        json.loads(cli("notify", "outbox", "--json").stdout),
        json.loads(cli("notify", "retry", "--all-failed", "--json").stdout),
    ]
    fields = {f for d in documents for f in _fields(d)} - {"schema_version", "channel"}
    missing = sorted(fields - _documented())
    assert missing == [], f"document these fields in docs/notifications.md: {missing}"


def test_every_notify_option_is_documented() -> None:
    group: Any = typer.main.get_command(notify_app)
    options = {
        name
        for command in group.commands.values()
        for param in command.params
        if param.param_type_name == "option"
        for name in param.opts
        if name.startswith("--")
    }
    assert "--all-failed" in options
    assert sorted(options - _documented()) == []


def test_every_channel_setting_has_a_row() -> None:
    rows = {f"channels.<name>.{name}" for name in ChannelConfig.model_fields}
    assert sorted(rows - _documented()) == []


def test_the_failing_channel_rules_go_to_every_other_channel() -> None:
    settings = make_config({"slack": ["json://127.0.0.1:9/a"], "pd": ["pagerduty://k"]}).settings
    rules = {r["name"]: r for r in builtin_rules(settings)}
    assert rules["notification_channel_failing_slack"]["channels"] == ["pd"]
    assert rules["notification_channel_failing_pd"]["condition"] == (
        'notify_channel_failing{channel="pd"} > 0'
    )
