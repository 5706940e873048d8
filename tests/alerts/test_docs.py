"""Every field of the alerts' JSON shapes is named in docs/alerts.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from opsbook.alerts import schema
from opsbook.alerts.rules import Rule
from opsbook.alerts.tables import AlertRow, AlertTransitionRow, SilenceRow
from opsbook.alerts.thresholds import Color, ThresholdStatus
from tests.alerts.conftest import make_rule

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def documented() -> set[str]:
    text = DOCS.read_text()
    section = text[text.index("## JSON shapes") :]
    return set(re.findall(r'"([a-z_]+)"', section))


def test_every_json_field_is_documented() -> None:
    rule: Rule = make_rule(condition="error_rate > 5%")
    alert = AlertRow(
        id=1,
        rule=rule.name,
        fingerprint="f",
        labels={},
        group_key="g",
        state="firing",
        open_key=None,
        live=True,
        value=0.1,
        active_at=NOW,
        fired_at=NOW,
        keep_firing_since=None,
        resolved_at=None,
        last_eval_at=NOW,
        notified_at=None,
        resolve_notified_at=None,
        suppressed_by=None,
        acked_by=None,
        acked_at=None,
        ack_comment="",
    )
    transition = AlertTransitionRow(
        alert_id=1,
        rule=rule.name,
        labels={},
        from_state="pending",
        to_state="firing",
        value=0.1,
        at=NOW,
        suppressed_by=None,
    )
    silence = SilenceRow(
        id=1,
        matchers=[],
        starts_at=NOW,
        ends_at=NOW,
        author="a",
        comment="c",
        created_at=NOW,
        ended_by=None,
    )
    shapes = [
        schema.alert_detail_json(alert, rule, [transition]),
        schema.transition_json(transition),
        schema.silence_json(silence, NOW),
        schema.rule_json(rule),
        schema.threshold_json(ThresholdStatus("m", {}, 1.0, "1", Color.GREEN)),
    ]
    fields = {key for shape in shapes for key in shape}
    assert fields - documented() == set()
