from __future__ import annotations

import itertools

import pytest

from opsbook.clock import FakeClock
from opsbook.errors import ConflictError, UsageError
from opsbook.incidents import action_items, schema, service, timeline
from opsbook.incidents.model import OPEN, Status, check_transition
from opsbook.incidents.service import IncidentContext
from opsbook.storage import Database

ALLOWED = {(a, b) for a in OPEN for b in (*OPEN, Status.RESOLVED) if a != b} | {
    (Status.RESOLVED, Status.CLOSED),
    (Status.RESOLVED, Status.INVESTIGATING),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(Status, Status)))
def test_status_transitions_follow_the_rules(current: Status, new: Status) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(ConflictError):
            check_transition(current, new)


def open_p2(db: Database, ctx: IncidentContext, **kw: object) -> int:
    with db.write() as s:
        return service.open_incident(
            s, ctx, title="API errors", severity="p2", actor="alice", **kw
        ).id  # type: ignore[arg-type]


def test_an_opened_incident_investigates_with_the_ladder_copied(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    incident_id = open_p2(db, ctx)
    with db.read() as s:
        incident = service.get(s, incident_id)
        events = timeline.events(s, incident_id)
    assert (incident.status, incident.severity, incident.detected_at) == (
        "investigating",
        "P2",
        clock.now(),
    )
    assert [r["target"] for r in incident.ladder] == [
        "On-call engineer",
        "Engineering lead",
        "Tech lead",
        "Executive",
    ]
    assert incident.next_escalation_at == clock.now()
    assert [e.kind for e in events] == ["opened"]


def test_an_unknown_severity_is_refused_with_the_choices(
    db: Database, ctx: IncidentContext
) -> None:
    with (
        pytest.raises(UsageError, match=r"unknown severity 'P9' \(one of: P1, P2, P3, P4\)"),
        db.write() as s,
    ):
        service.open_incident(s, ctx, title="x", severity="P9", actor="alice")


def test_monitoring_marks_the_mitigation_time(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    incident_id = open_p2(db, ctx)
    clock.advance(minutes=20)
    with db.write() as s:
        service.change_status(s, ctx, incident_id, Status.MONITORING, actor="alice")
    with db.read() as s:
        assert service.get(s, incident_id).mitigated_at == clock.now()


def test_resolve_and_close_are_their_own_operations(db: Database, ctx: IncidentContext) -> None:
    incident_id = open_p2(db, ctx)
    with pytest.raises(UsageError, match="use `resolve`"), db.write() as s:
        service.change_status(s, ctx, incident_id, Status.RESOLVED, actor="alice")


def test_only_a_resolved_incident_can_be_closed(db: Database, ctx: IncidentContext) -> None:
    incident_id = open_p2(db, ctx)
    with pytest.raises(ConflictError, match="cannot become closed"), db.write() as s:
        service.close(s, ctx, incident_id, actor="alice")
    with db.write() as s:
        service.resolve(s, ctx, incident_id, actor="alice", root_cause="pool too small")
        service.close(s, ctx, incident_id, actor="alice")
    with db.read() as s:
        assert service.get(s, incident_id).status == "closed"


def test_a_resolved_incident_can_be_reopened(db: Database, ctx: IncidentContext) -> None:
    incident_id = open_p2(db, ctx)
    with db.write() as s:
        service.resolve(s, ctx, incident_id, actor="alice")
    with db.write() as s:
        service.post_update(
            s, ctx, incident_id, actor="bob", message="it is back", status=Status.INVESTIGATING
        )
    with db.read() as s:
        incident = service.get(s, incident_id)
    assert (incident.status, incident.resolved_at) == ("investigating", None)


def test_updates_need_an_open_incident(db: Database, ctx: IncidentContext) -> None:
    incident_id = open_p2(db, ctx)
    with db.write() as s:
        service.resolve(s, ctx, incident_id, actor="alice")
    with pytest.raises(ConflictError, match="reopen it"), db.write() as s:
        service.post_update(s, ctx, incident_id, actor="bob", message="hello")


def test_acknowledging_twice_is_a_conflict(db: Database, ctx: IncidentContext) -> None:
    incident_id = open_p2(db, ctx)
    with db.write() as s:
        service.acknowledge(s, ctx, incident_id, actor="alice")
    with pytest.raises(ConflictError, match="already acknowledged by alice"), db.write() as s:
        service.acknowledge(s, ctx, incident_id, actor="bob")


def test_times_give_time_to_acknowledge_and_resolve(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    incident_id = open_p2(db, ctx)
    clock.advance(minutes=10)
    with db.write() as s:
        service.acknowledge(s, ctx, incident_id, actor="alice")
    clock.advance(minutes=50)
    with db.write() as s:
        service.resolve(s, ctx, incident_id, actor="alice")
    with db.read() as s:
        detail = schema.incident_detail(
            service.get(s, incident_id), ctx.policy, clock.now(), events=[], links=[], actions=[]
        )
    assert detail["time_to_acknowledge_seconds"] == 600
    assert detail["time_to_resolve_seconds"] == 3600
    assert detail["response_missed"] is False


def test_a_late_acknowledgement_misses_the_response_target(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident_id = service.open_incident(s, ctx, title="down", severity="P1", actor="alice").id
    clock.advance(minutes=16)
    with db.read() as s:
        assert service.response_missed(service.get(s, incident_id), ctx.policy, clock.now())
    with db.write() as s:
        service.acknowledge(s, ctx, incident_id, actor="alice")
    clock.advance(hours=5)
    with db.read() as s:
        assert service.response_missed(service.get(s, incident_id), ctx.policy, clock.now())


def test_every_change_is_on_the_timeline_and_in_the_journal(
    db: Database, ctx: IncidentContext
) -> None:
    from opsbook.journal import service as journal

    incident_id = open_p2(db, ctx)
    with db.write() as s:
        service.assign(s, ctx, incident_id, commander="carol", actor="alice")
        service.set_severity(s, ctx, incident_id, severity="P1", actor="carol")
        service.post_update(
            s, ctx, incident_id, actor="carol", message="failing over", status=Status.MITIGATING
        )
        service.add_note(s, ctx, incident_id, actor="dave", text="customer X reports errors")
    with db.read() as s:
        kinds = [e.kind for e in timeline.events(s, incident_id)]
        actions = [
            e.action
            for e in journal.entries(s, subject=journal.Subject("incident", str(incident_id)))
        ]
    assert kinds == ["opened", "commander", "severity", "status", "update", "note"]
    assert sorted(actions) == sorted(f"incident.{k}" for k in kinds)


def test_action_items_are_tracked(db: Database, ctx: IncidentContext) -> None:
    incident_id = open_p2(db, ctx)
    with db.write() as s:
        item = action_items.add(
            s, ctx, incident_id, actor="alice", text="raise pool size", owner="bob"
        )
    with db.write() as s:
        action_items.update(s, ctx, item.id, actor="bob", status="done")
    with pytest.raises(UsageError, match="unknown action item status"), db.write() as s:
        action_items.update(s, ctx, item.id, actor="bob", status="maybe")
    with db.read() as s:
        [stored] = action_items.listed(s, incident_id)
    assert (stored.status, stored.owner) == ("done", "bob")
