from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsbook.clock import FakeClock
from opsbook.config.incidents import RotaConfig
from opsbook.incidents import paging, service, timeline
from opsbook.incidents.escalation import Rung, due_rungs, next_due
from opsbook.incidents.rota import on_call
from opsbook.incidents.service import IncidentContext
from opsbook.storage import Database
from tests.incidents.conftest import make_policy

LADDER = (Rung(1, "oncall", 0), Rung(2, "lead", 1800), Rung(3, "cto", 3600))
T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


def test_the_next_rung_is_due_its_delay_after_detection() -> None:
    assert next_due(LADDER, T0, 0) == T0
    assert next_due(LADDER, T0, 1) == datetime(2026, 1, 5, 12, 30, tzinfo=UTC)
    assert next_due(LADDER, T0, 3) is None


def test_every_rung_whose_time_passed_is_due_once() -> None:
    assert [r.level for r in due_rungs(LADDER, T0, 1, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))] == [
        2,
        3,
    ]
    assert due_rungs(LADDER, T0, 3, datetime(2026, 1, 6, tzinfo=UTC)) == []


def escalated_levels(db: Database, incident_id: int) -> list[int]:
    with db.read() as s:
        return [e.data["level"] for e in timeline.events(s, incident_id) if e.kind == "escalated"]


def test_the_ladder_climbs_until_someone_acknowledges(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="opsbook").id
    with db.write() as s:
        assert paging.escalate_due(s, ctx) == [(incident_id, 1)]
    clock.advance(minutes=29)
    with db.write() as s:
        assert paging.escalate_due(s, ctx) == []
    clock.advance(minutes=1)
    with db.write() as s:
        assert paging.escalate_due(s, ctx) == [(incident_id, 2)]
    with db.write() as s:
        service.acknowledge(s, ctx, incident_id, actor="alice")
    clock.advance(hours=3)
    with db.write() as s:
        assert paging.escalate_due(s, ctx) == []
    assert escalated_levels(db, incident_id) == [1, 2]


def test_resolution_ends_the_climb(db: Database, ctx: IncidentContext, clock: FakeClock) -> None:
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="opsbook").id
        service.resolve(s, ctx, incident_id, actor="alice")
    clock.advance(hours=3)
    with db.write() as s:
        assert paging.escalate_due(s, ctx) == []


def test_a_crash_before_commit_neither_loses_nor_repeats_a_page(
    db: Database, ctx: IncidentContext
) -> None:
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="opsbook").id
    with pytest.raises(RuntimeError), db.write() as s:
        paging.escalate_due(s, ctx)
        raise RuntimeError("process died before commit")
    restarted = Database(db.url)
    try:
        with restarted.write() as s:
            assert paging.escalate_due(s, ctx) == [(incident_id, 1)]
        with restarted.write() as s:
            assert paging.escalate_due(s, ctx) == []
    finally:
        restarted.dispose()
    assert escalated_levels(db, incident_id) == [1]


def test_a_ladder_edited_after_opening_does_not_change_the_running_one(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="opsbook").id
    edited = IncidentContext(
        clock=clock,
        policy=make_policy(escalation=[{"level": 1, "target": "someone", "after": "0s"}]),
    )
    clock.advance(hours=1)
    with db.write() as s:
        paging.escalate_due(s, edited)
    assert escalated_levels(db, incident_id) == [1, 2, 3]


def test_a_long_outage_pages_every_missed_level_once(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="opsbook").id
    clock.advance(hours=5)
    with db.write() as s:
        paging.escalate_due(s, ctx)
    assert escalated_levels(db, incident_id) == [1, 2, 3, 4]


ROTA = RotaConfig(people=["alice", "bob", "carol"], start=datetime(2026, 1, 5, 9, tzinfo=UTC))


@pytest.mark.parametrize(
    ("when", "person"),
    [
        (datetime(2026, 1, 5, 9, tzinfo=UTC), "alice"),
        (datetime(2026, 1, 12, 8, 59, tzinfo=UTC), "alice"),
        (datetime(2026, 1, 12, 9, tzinfo=UTC), "bob"),
        (datetime(2026, 1, 26, 9, tzinfo=UTC), "alice"),
    ],
)
def test_the_rota_hands_over_weekly(when: datetime, person: str) -> None:
    assert on_call(ROTA, when) == person


def test_an_override_wins_over_the_shift() -> None:
    override = {
        "person": "dave",
        "start": datetime(2026, 1, 6, tzinfo=UTC),
        "end": datetime(2026, 1, 7, tzinfo=UTC),
    }
    rota = RotaConfig.model_validate(ROTA.model_dump() | {"overrides": [override]})
    assert on_call(rota, datetime(2026, 1, 6, 12, tzinfo=UTC)) == "dave"
    assert on_call(rota, datetime(2026, 1, 7, 12, tzinfo=UTC)) == "alice"


def test_a_rota_target_pages_the_person_on_call_through_their_channels() -> None:
    policy = make_policy(
        rotas={"oncall": ROTA.model_dump()},
        people={"alice": {"channels": ["alice-phone"]}, "bob": {}, "carol": {}},
        channels=["incidents"],
    )
    target = policy.resolve_target("oncall", datetime(2026, 1, 5, 10, tzinfo=UTC))
    assert (target.person, target.channels) == ("alice", ("alice-phone",))
    fallback = policy.resolve_target("Engineering lead", datetime(2026, 1, 5, 10, tzinfo=UTC))
    assert (fallback.person, fallback.channels) == (None, ("incidents",))


@pytest.mark.parametrize(
    ("alert_severity", "level"),
    [
        ("critical", "P1"),
        ("High", "P2"),
        ("warning", "P3"),
        ("info", "P4"),
        ("P2", "P2"),
        ("weird", None),
    ],
)
def test_alert_severities_map_to_the_policy(alert_severity: str, level: str | None) -> None:
    assert make_policy().map_alert_severity(alert_severity) == level


def test_a_configured_mapping_wins() -> None:
    assert make_policy(severity_map={"warning": "P2"}).map_alert_severity("warning") == "P2"


def test_the_worker_pages_what_came_due(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    from opsbook.config import config_from_data
    from opsbook.incidents.worker import IncidentWorker
    from opsbook.runtime import Runtime

    runtime = Runtime(config=config_from_data({}), db=db, clock=clock)
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="opsbook").id
    worker = IncidentWorker(runtime, ctx)
    worker.tick()
    clock.advance(minutes=31)
    worker.tick()
    worker.tick()
    assert escalated_levels(db, incident_id) == [1, 2]
