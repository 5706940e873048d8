from __future__ import annotations

from opsbook.clock import FakeClock
from opsbook.config.incidents import DEFAULT_INITIAL
from opsbook.incidents import action_items, comms, postmortem, service, timeline
from opsbook.incidents.model import Status
from opsbook.incidents.service import IncidentContext
from opsbook.storage import Database


def test_the_initial_template_fills_the_incident_fields(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident = service.open_incident(
            s, ctx, title="Checkout errors", severity="P1", actor="a", impact="Payments fail"
        )
        text = comms.render(DEFAULT_INITIAL, comms.fields(incident, clock.now()))
    assert text.splitlines()[:4] == [
        "INCIDENT: Checkout errors",
        "Severity: P1",
        "Status: Investigating",
        "Impact: Payments fail",
    ]
    assert text.endswith("Next Update: 2026-01-05 12:30 UTC")


def test_an_unfilled_field_shows_as_its_placeholder(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident = service.open_incident(s, ctx, title="x", severity="P3", actor="a")
        assert (
            comms.render("ETA: {{ mystery_field }}", comms.fields(incident, clock.now()))
            == "ETA: [mystery_field]"
        )


def test_the_seeds_placeholder_names_are_understood(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident = service.open_incident(
            s, ctx, title="x", severity="P2", actor="a", impact="slow search"
        )
        values = comms.fields(incident, clock.now(), progress="restarted workers")
    text = comms.render("Impact: {{ user_facing_impact }} / Done: {{ whats_been_done }}", values)
    assert text == "Impact: slow search / Done: restarted workers"


def test_the_postmortem_holds_times_timeline_and_action_items(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    with db.write() as s:
        incident_id = service.open_incident(
            s, ctx, title="DB exhausted", severity="P1", actor="opsbook", impact="API 5xx"
        ).id
    clock.advance(minutes=5)
    with db.write() as s:
        service.acknowledge(s, ctx, incident_id, actor="alice")
        service.post_update(
            s,
            ctx,
            incident_id,
            actor="alice",
            message="killing idle connections",
            status=Status.MITIGATING,
        )
    clock.advance(minutes=10)
    with db.write() as s:
        service.change_status(s, ctx, incident_id, Status.MONITORING, actor="alice")
        service.resolve(
            s,
            ctx,
            incident_id,
            actor="alice",
            root_cause="connection leak in worker",
            resolution="restarted workers",
        )
        action_items.add(s, ctx, incident_id, actor="alice", text="fix the leak", owner="bob")
    with db.read() as s:
        incident = service.get(s, incident_id)
        text = postmortem.draft(
            incident,
            ctx.policy,
            clock.now(),
            events=timeline.events(s, incident_id),
            links=timeline.links(s, incident_id),
            actions=action_items.listed(s, incident_id),
        )
    assert text.startswith("# Post-mortem: DB exhausted\n")
    for expected in (
        "## Impact\n\nAPI 5xx",
        "| Acknowledged | 2026-01-05 12:05:00 UTC | 5m |",
        "| Resolved | 2026-01-05 12:15:00 UTC | 15m |",
        "Response target met",
        "killing idle connections",
        "## Root cause\n\nconnection leak in worker",
        "| fix the leak | bob |",
    ):
        assert expected in text
