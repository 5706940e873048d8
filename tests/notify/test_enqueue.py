from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from opsbook.clock import FakeClock
from opsbook.errors import ConfigError, UsageError
from opsbook.journal import service as journal
from opsbook.notify import service as notify
from opsbook.notify.destinations import active_channels, use_channels
from opsbook.notify.tables import OutboxMessage
from opsbook.storage import Database
from tests.notify.conftest import make_channels

CHANNELS = make_channels(
    {"slack": ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"], "pagerduty": ["pagerduty://rk-1"]}
)


def _send(db: Database, clock: FakeClock, **overrides: object) -> list[OutboxMessage]:
    fields: dict[str, object] = {
        "channel": "slack",
        "key": "alert:disk",
        "event": "trigger",
        "title": "Disk full",
        "body": "/var is full",
        "channels": CHANNELS,
    }
    fields.update(overrides)
    with db.write() as session:
        return notify.enqueue(session, clock, **fields)  # type: ignore[arg-type]


def _count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_enqueue_writes_one_pending_row_per_destination(db: Database, clock: FakeClock) -> None:
    rows = _send(db, clock)
    assert [r.destination_display for r in rows] == ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]
    assert {(r.state, r.attempts, r.next_attempt_at) for r in rows} == {("pending", 0, clock.now())}


def test_a_second_enqueue_of_the_same_key_and_event_is_a_no_op(
    db: Database, clock: FakeClock
) -> None:
    assert len(_send(db, clock)) == 2
    assert _send(db, clock, title="changed wording") == []
    assert len(_send(db, clock, event="resolve")) == 2
    assert len(_send(db, clock, channel="pagerduty")) == 1
    assert _count(db) == 5


def test_find_lists_a_keys_messages_in_every_state(db: Database, clock: FakeClock) -> None:
    _send(db, clock)
    _send(db, clock, event="resolve", channel="pagerduty")
    with db.read() as session:
        assert [m.event for m in notify.find(session, key="alert:disk")] == [
            "trigger",
            "trigger",
            "resolve",
        ]
        assert len(notify.find(session, key="alert:disk", event="resolve")) == 1
        assert notify.find(session, key="other") == []


def test_a_new_occurrence_of_a_reminder_is_sent_again(db: Database, clock: FakeClock) -> None:
    assert len(_send(db, clock, event="reminder", occurrence="1")) == 2
    assert _send(db, clock, event="reminder", occurrence="1") == []
    assert len(_send(db, clock, event="reminder", occurrence="2")) == 2


def test_enqueue_joins_the_callers_transaction(db: Database, clock: FakeClock) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), db.write() as session:
        notify.enqueue(
            session,
            clock,
            channel="slack",
            key="k",
            event="trigger",
            title="t",
            body="b",
            channels=CHANNELS,
        )
        raise Abort
    assert _count(db) == 0


def test_a_duplicate_leaves_the_callers_transaction_usable(db: Database, clock: FakeClock) -> None:
    _send(db, clock)
    with db.write() as session:
        assert (
            notify.enqueue(
                session,
                clock,
                channel="slack",
                key="alert:disk",
                event="trigger",
                title="t",
                body="b",
                channels=CHANNELS,
            )
            == []
        )
        journal.record(
            session,
            clock,
            actor="alerts",
            action="alert.fired",
            subject=journal.Subject("alert", "disk"),
        )
    with db.read() as session:
        assert [e.action for e in journal.entries(session)] == ["alert.fired"]


def test_an_unknown_channel_is_a_config_error_naming_the_defined_ones(
    db: Database, clock: FakeClock
) -> None:
    with pytest.raises(ConfigError, match=r"unknown channel 'slak' \(did you mean 'slack'\?\)"):
        _send(db, clock, channel="slak")


def test_an_unknown_event_is_a_usage_error(db: Database, clock: FakeClock) -> None:
    with pytest.raises(UsageError, match="expected one of trigger, resolve"):
        _send(db, clock, event="fire")


def test_the_runtimes_channels_are_used_when_none_are_given(db: Database, clock: FakeClock) -> None:
    previous = use_channels(CHANNELS)
    try:
        assert active_channels() is CHANNELS
        with db.write() as session:
            rows = notify.enqueue(
                session, clock, channel="pagerduty", key="k", event="trigger", title="t", body="b"
            )
        assert rows[0].transport == "pagerduty"
    finally:
        use_channels(previous)


def test_titles_and_bodies_come_from_the_channels_templates(db: Database, clock: FakeClock) -> None:
    channels = make_channels(
        {
            "ops": {
                "urls": ["json://127.0.0.1:9/a"],
                "title_template": "{{ labels.team | upper }}: {{ title }} ({{ event }})",
                "body_template": "{{ body }} -- see {{ runbook }} {{ data.missing.deeper }}",
            }
        }
    )
    [row] = _send(
        db,
        clock,
        channel="ops",
        channels=channels,
        url="https://rb/x.md#fix",
        data={"labels": {"team": "db"}},
    )
    assert row.title == "DB: Disk full (trigger)"
    assert row.body == "/var is full -- see https://rb/x.md#fix"


def test_the_default_templates_add_state_severity_and_runbook(
    db: Database, clock: FakeClock
) -> None:
    [row, _] = _send(db, clock, severity="critical", url="https://rb/x.md#fix")
    assert row.title == "[FIRING:CRITICAL] Disk full"
    assert row.body == "/var is full\n\nRunbook: https://rb/x.md#fix"
    [resolved, _] = _send(db, clock, event="resolve")
    assert resolved.title == "[RESOLVED] Disk full"


def test_a_template_that_fails_falls_back_to_the_default(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    channels = make_channels(
        {"ops": {"urls": ["json://127.0.0.1:9/a"], "title_template": "{{ title }} {{ 1 // 0 }}"}}
    )
    with caplog.at_level(logging.WARNING):
        [row] = _send(db, clock, channel="ops", channels=channels)
    assert row.title == "[FIRING] Disk full"
    assert "template of channel ops failed" in caplog.text


def test_a_template_the_sandbox_blanks_falls_back_to_the_default(
    db: Database, clock: FakeClock
) -> None:
    channels = make_channels(
        {
            "ops": {
                "urls": ["json://127.0.0.1:9/a"],
                "title_template": "{{ title.__class__.__mro__ }}",
            }
        }
    )
    [row] = _send(db, clock, channel="ops", channels=channels)
    assert row.title == "[FIRING] Disk full"


def test_data_that_is_not_plain_json_is_stored_as_text(db: Database, clock: FakeClock) -> None:
    [row, _] = _send(db, clock, data={"at": clock.now(), "labels": {"host": "web-1"}})
    assert row.data == {"at": "2026-01-05 12:00:00+00:00", "labels": {"host": "web-1"}}
