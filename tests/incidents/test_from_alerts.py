from __future__ import annotations

from datetime import datetime

from opsbook.alerts.tables import AlertRow, AlertTransitionRow
from opsbook.clock import FakeClock
from opsbook.incidents import service, timeline
from opsbook.incidents.from_alerts import RuleInfo, follow_alerts
from opsbook.incidents.service import IncidentContext
from opsbook.storage import Database

RULES = {"db_down": RuleInfo(title="db_down: database unreachable", runbook="runbooks/db.md#down")}


def alert(
    db: Database, clock: FakeClock, rule: str, severity: str, group: str, **labels: str
) -> int:
    with db.write() as s:
        row = AlertRow(
            rule=rule,
            fingerprint=rule + group,
            labels={"alertname": rule, "severity": severity, **labels},
            group_key=group,
            state="firing",
            open_key=f"{rule}/{group}/{labels}",
            live=True,
            value=1.0,
            active_at=clock.now(),
            fired_at=clock.now(),
            keep_firing_since=None,
            resolved_at=None,
            last_eval_at=clock.now(),
            notified_at=None,
            resolve_notified_at=None,
            suppressed_by=None,
            acked_by=None,
            acked_at=None,
        )
        s.add(row)
        s.flush()
        return row.id


def move(
    db: Database,
    alert_id: int,
    to_state: str,
    at: datetime,
    rule: str = "db_down",
    severity: str = "critical",
) -> None:
    with db.write() as s:
        s.add(
            AlertTransitionRow(
                alert_id=alert_id,
                rule=rule,
                labels={"alertname": rule, "severity": severity},
                from_state="pending" if to_state == "firing" else "firing",
                to_state=to_state,
                value=1.0,
                at=at,
                suppressed_by=None,
            )
        )


def follow(db: Database, ctx: IncidentContext) -> list[int]:
    with db.write() as s:
        return follow_alerts(s, ctx, RULES)


def test_a_critical_alert_opens_a_p1_incident_with_its_runbook(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    a = alert(db, clock, "db_down", "critical", "g1")
    move(db, a, "firing", clock.now())
    [incident_id] = follow(db, ctx)
    with db.read() as s:
        incident = service.get(s, incident_id)
        links = timeline.links(s, incident_id, "alert")
    assert (incident.title, incident.severity, incident.runbook) == (
        "db_down: database unreachable",
        "P1",
        "runbooks/db.md#down",
    )
    assert incident.detected_at == clock.now()
    assert [link.ref for link in links] == [str(a)]


def test_a_warning_is_recorded_but_opens_nothing(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    a = alert(db, clock, "slow", "warning", "g2")
    move(db, a, "firing", clock.now(), rule="slow", severity="warning")
    assert follow(db, ctx) == []
    with db.read() as s:
        assert service.list_incidents(s) == []


def test_alerts_of_one_group_join_the_open_incident(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    a = alert(db, clock, "db_down", "critical", "g1", instance="a")
    b = alert(db, clock, "db_down", "critical", "g1", instance="b")
    move(db, a, "firing", clock.now())
    move(db, b, "firing", clock.now())
    assert len(set(follow(db, ctx))) == 1
    with db.read() as s:
        [incident] = service.list_incidents(s)
        assert len(timeline.links(s, incident.id, "alert")) == 2


def test_the_incident_calms_to_monitoring_when_every_alert_resolved_and_never_closes_itself(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    a = alert(db, clock, "db_down", "critical", "g1", instance="a")
    b = alert(db, clock, "db_down", "critical", "g1", instance="b")
    move(db, a, "firing", clock.now())
    move(db, b, "firing", clock.now())
    [incident_id] = set(follow(db, ctx))
    move(db, a, "resolved", clock.now())
    follow(db, ctx)
    with db.read() as s:
        assert service.get(s, incident_id).status == "investigating"
    move(db, b, "resolved", clock.now())
    follow(db, ctx)
    with db.read() as s:
        assert service.get(s, incident_id).status == "monitoring"
    c = alert(db, clock, "db_down", "critical", "g1", instance="c")
    move(db, c, "firing", clock.now())
    follow(db, ctx)
    with db.read() as s:
        assert service.get(s, incident_id).status == "investigating"


def test_each_transition_is_applied_once(
    db: Database, ctx: IncidentContext, clock: FakeClock
) -> None:
    a = alert(db, clock, "db_down", "critical", "g1")
    move(db, a, "firing", clock.now())
    follow(db, ctx)
    assert follow(db, ctx) == []
    with db.read() as s:
        [incident] = service.list_incidents(s)
        events = [e.kind for e in timeline.events(s, incident.id)]
    assert events.count("alert") == 1
