from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opsbook.alerts import queries, silences
from opsbook.alerts.language.evaluate import Outcome
from opsbook.alerts.rules import Rule
from opsbook.alerts.service import record_cycle
from opsbook.alerts.tables import AlertTransitionRow
from opsbook.alerts.windows import Window
from opsbook.clock import FakeClock
from opsbook.config.alerts import MaintenanceWindowConfig
from opsbook.journal import service as journal
from opsbook.storage import Database
from tests.alerts.conftest import Outbox, make_rule

API = (("check", "api"),)
WEB = (("check", "web"),)


def saw(*series: tuple[tuple[tuple[str, str], ...], float, bool]) -> Outcome:
    return Outcome({labels: (value, ok) for labels, value, ok in series})


class Loop:
    """Drives record_cycle with given outcomes, as the worker would after each evaluation."""

    def __init__(self, db: Database, clock: FakeClock, outbox: Outbox, rule: Rule, **kw: Any):
        self.db, self.clock, self.outbox, self.rule, self.kw = db, clock, outbox, rule, kw

    def step(self, outcome: Outcome, advance: float = 0) -> None:
        self.clock.advance(advance)
        with self.db.write() as session:
            record_cycle(
                session,
                self.clock,
                [self.rule],
                {self.rule.name: outcome},
                enqueue=self.outbox,
                **self.kw,
            )

    def transitions(self) -> list[tuple[str, str, float | None]]:
        with self.db.read() as session:
            rows = session.scalars(select(AlertTransitionRow).order_by(AlertTransitionRow.id))
            return [(r.from_state, r.to_state, r.value) for r in rows]


def test_an_alert_goes_pending_then_fires_and_one_message_is_sent(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    loop = Loop(
        db,
        clock,
        outbox,
        make_rule(
            condition="error_rate > 5%",
            **{"for": "5m"},
            channels=["slack", "pagerduty"],
            runbook="runbooks/web.md#errors",
        ),
    )
    loop.step(saw((API, 0.07, True)))
    loop.step(saw((API, 0.08, True)), advance=240)
    assert outbox.sent == []
    loop.step(saw((API, 0.09, True)), advance=60)
    assert [(m["channel"], m["event"]) for m in outbox.sent] == [
        ("slack", "trigger"),
        ("pagerduty", "trigger"),
    ]
    assert outbox.sent[0]["url"] == "runbooks/web.md#errors"
    assert outbox.sent[0]["data"]["runbook"] == "runbooks/web.md#errors"
    assert loop.transitions() == [("inactive", "pending", 0.07), ("pending", "firing", 0.09)]
    loop.step(saw((API, 0.09, True)), advance=15)
    assert len(outbox.sent) == 2


def test_recovery_sends_one_resolved_message_with_the_value_that_resolved_it(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    loop = Loop(db, clock, outbox, make_rule(condition="error_rate > 5%", channels=["slack"]))
    loop.step(saw((API, 0.2, True)))
    loop.step(saw((API, 0.01, False)), advance=15)
    assert outbox.events() == [("trigger", "high_error_rate")]
    loop.step(saw((API, 0.01, False)), advance=45)
    loop.step(saw((API, 0.01, False)), advance=60)
    assert outbox.events()[1:] == [("resolve", "high_error_rate")]
    assert outbox.sent[0]["key"] == outbox.sent[1]["key"]
    assert loop.transitions()[-1] == ("firing", "resolved", 0.01)


def test_a_series_that_vanishes_resolves_its_alert(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    loop = Loop(db, clock, outbox, make_rule(condition="error_rate > 5%", channels=["slack"]))
    loop.step(saw((API, 0.2, True)))
    loop.step(saw(), advance=60)
    assert loop.transitions()[-1] == ("firing", "resolved", None)
    assert outbox.events()[-1][0] == "resolve"


def test_alerts_of_one_rule_are_grouped_into_one_message(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    loop = Loop(db, clock, outbox, make_rule(condition="error_rate > 5%", channels=["slack"]))
    loop.step(saw((API, 0.2, True), (WEB, 0.3, True)))
    assert outbox.events() == [("trigger", "high_error_rate (2 firing)")]
    body = outbox.sent[0]["body"]
    assert "check=api" in body and "check=web" in body


def test_group_by_splits_messages_by_label(db: Database, clock: FakeClock, outbox: Outbox) -> None:
    rule = make_rule(condition="error_rate > 5%", channels=["slack"], group_by=["check"])
    loop = Loop(db, clock, outbox, rule)
    loop.step(saw((API, 0.2, True), (WEB, 0.3, True)))
    assert len(outbox.sent) == 2
    assert outbox.sent[0]["key"] != outbox.sent[1]["key"]


def test_repeat_interval_sends_reminders_while_firing(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    rule = make_rule(condition="error_rate > 5%", channels=["slack"], repeat_interval="1h")
    loop = Loop(db, clock, outbox, rule)
    loop.step(saw((API, 0.2, True)))
    for _ in range(7):
        loop.step(saw((API, 0.2, True)), advance=600)
    assert [e for e, _ in outbox.events()] == ["trigger", "reminder"]
    assert outbox.sent[1]["key"] == outbox.sent[0]["key"]
    assert outbox.sent[1]["occurrence"] == "2"


def test_an_acknowledged_alert_sends_no_reminders(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    rule = make_rule(condition="error_rate > 5%", channels=["slack"], repeat_interval="1h")
    loop = Loop(db, clock, outbox, rule)
    loop.step(saw((API, 0.2, True)))
    with db.write() as session:
        queries.acknowledge(session, clock, "high_error_rate", actor="alice", comment="on it")
    loop.step(saw((API, 0.2, True)), advance=7200)
    assert [e for e, _ in outbox.events()] == ["trigger"]
    with db.read() as session:
        [entry] = journal.entries(session, action_prefix="alerts.ack")
        assert entry.actor == "alice"


def test_a_silence_holds_back_the_firing_message_but_the_alert_is_recorded(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    with db.write() as session:
        silences.create(
            session,
            clock,
            matchers=['check="api"'],
            duration=3600,
            author="bob",
            comment="deploying",
        )
    loop = Loop(db, clock, outbox, make_rule(condition="error_rate > 5%", channels=["slack"]))
    loop.step(saw((API, 0.2, True)))
    assert outbox.sent == []
    with db.read() as session:
        [alert] = queries.current(session)
        assert alert.state == "firing" and alert.suppressed_by is not None
    loop.step(saw((API, 0.2, True)), advance=3600)
    assert outbox.events() == [("trigger", "high_error_rate")]


def test_a_resolve_is_sent_even_if_a_silence_began_after_the_firing_message(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    loop = Loop(db, clock, outbox, make_rule(condition="error_rate > 5%", channels=["slack"]))
    loop.step(saw((API, 0.2, True)))
    with db.write() as session:
        silences.create(
            session,
            clock,
            matchers=["alertname=high_error_rate"],
            duration=7200,
            author="bob",
            comment="known",
        )
    loop.step(saw((API, 0.2, True)), advance=60)
    loop.step(saw((API, 0.01, False)), advance=60)
    assert [e for e, _ in outbox.events()] == ["trigger", "resolve"]


def test_a_maintenance_window_holds_back_notifications(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    window = Window.from_config(
        MaintenanceWindowConfig(name="deploy", start=clock.now(), end=clock.now().replace(hour=13))
    )
    loop = Loop(
        db,
        clock,
        outbox,
        make_rule(condition="error_rate > 5%", channels=["slack"]),
        windows=[window],
    )
    loop.step(saw((API, 0.2, True)))
    loop.step(saw((API, 0.2, True)), advance=1800)
    assert outbox.sent == []
    loop.step(saw((API, 0.2, True)), advance=1800)
    assert [e for e, _ in outbox.events()] == ["trigger"]


def test_lifting_a_silence_is_journaled_with_its_actor(db: Database, clock: FakeClock) -> None:
    with db.write() as session:
        silence = silences.create(
            session,
            clock,
            matchers=["severity=warning"],
            duration=600,
            author="bob",
            comment="noisy",
        )
    with db.write() as session:
        silences.lift(session, clock, silence.id, actor="carol")
    with db.read() as session:
        assert silences.active(session, clock.now()) == []
        actions = [(e.action, e.actor) for e in journal.entries(session, action_prefix="alerts")]
        assert actions == [("alerts.unsilence", "carol"), ("alerts.silence", "bob")]


def test_a_flapping_condition_fires_once_with_keep_firing_for(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    rule = make_rule(condition="error_rate > 5%", channels=["slack"], keep_firing_for="5m")
    loop = Loop(db, clock, outbox, rule)
    for minute in range(20):
        loop.step(saw((API, 0.2, minute % 3 != 2)), advance=60)
    assert [e for e, _ in outbox.events()] == ["trigger"]
    with db.read() as session:
        assert [a.state for a in queries.current(session)] == ["firing"]


def test_other_areas_follow_transitions_in_order(
    db: Database, clock: FakeClock, outbox: Outbox
) -> None:
    loop = Loop(db, clock, outbox, make_rule(condition="error_rate > 5%", **{"for": "1m"}))
    loop.step(saw((API, 0.2, True)))
    loop.step(saw((API, 0.2, True)), advance=60)
    with db.read() as session:
        first = queries.transitions_since(session, 0)
        later = queries.transitions_since(session, first[0].id)
    assert [(t.from_state, t.to_state) for t in first] == [
        ("inactive", "pending"),
        ("pending", "firing"),
    ]
    assert [t.to_state for t in later] == ["firing"]
    assert first[1].labels["check"] == "api" and first[1].value == 0.2
