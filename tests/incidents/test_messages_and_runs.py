from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from sqlalchemy import func, select

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.incidents import paging, service, timeline
from opsbook.incidents.service import IncidentContext
from opsbook.notify.tables import OutboxMessage
from opsbook.notify.worker import DeliveryWorker
from opsbook.storage import Database
from tests.notify.receivers import WebhookReceiver


def incident_ctx(
    clock: FakeClock, receiver: WebhookReceiver, **incidents: object
) -> IncidentContext:
    config = config_from_data(
        {
            "channels": {
                "incidents": [f"slack+http://{receiver.base}/incidents"],
                "oncall-pager": [f"slack+http://{receiver.base}/pager"],
            },
            "incidents": {"channels": ["incidents"], **incidents},
        }
    )
    return IncidentContext.from_config(config, clock)


def deliver(db: Database, clock: FakeClock, ctx: IncidentContext) -> None:
    assert ctx.channels is not None
    worker = DeliveryWorker(db, clock, ctx.channels, node_id="t", rand=random.Random(1))
    for _ in range(20):  # messages of one incident go out in order, one round each
        if not asyncio.run(worker.run_once()):
            return


def texts(receiver: WebhookReceiver, path: str) -> list[str]:
    """The body of each Slack-compatible message the receiver got at `path`."""
    return [
        json.loads(r.body)["attachments"][0]["text"] for r in receiver.received if r.path == path
    ]


LADDER = [
    {"level": 1, "target": "oncall-pager", "after": "0s"},
    {"level": 2, "target": "Engineering lead", "after": "30m"},
]


def test_the_initial_update_and_resolution_messages_reach_the_channel(
    db: Database, clock: FakeClock
) -> None:
    receiver = WebhookReceiver()
    try:
        ctx = incident_ctx(clock, receiver)
        with db.write() as s:
            incident_id = service.open_incident(
                s, ctx, title="Checkout errors", severity="P1", actor="a", impact="Payments fail"
            ).id
        with db.write() as s:
            service.post_update(
                s, ctx, incident_id, actor="a", message="rolled back the deploy", eta="10 min"
            )
            service.resolve(
                s, ctx, incident_id, actor="a", root_cause="bad deploy", resolution="rollback"
            )
        deliver(db, clock, ctx)
        sent = texts(receiver, "/incidents")
    finally:
        receiver.down()
    assert [t.splitlines()[0] for t in sent] == [
        "INCIDENT: Checkout errors",
        "INCIDENT UPDATE: Checkout errors",
        "INCIDENT RESOLVED: Checkout errors",
    ]
    assert "Progress: rolled back the deploy" in sent[1]
    assert "Root Cause: bad deploy" in sent[2]
    with db.read() as s:
        kinds = [e.kind for e in timeline.events(s, incident_id)]
    assert kinds.count("message") == 3


def test_each_level_is_paged_once_through_the_outbox_even_across_a_restart(
    db: Database, clock: FakeClock
) -> None:
    receiver = WebhookReceiver()
    try:
        ctx = incident_ctx(clock, receiver, escalation=LADDER)
        with db.write() as s:
            incident_id = service.open_incident(
                s, ctx, title="API down", severity="P1", actor="opsbook"
            ).id
        with db.write() as s:
            paging.escalate_due(s, ctx)
        restarted = Database(db.url)
        try:
            with restarted.write() as s:
                assert paging.escalate_due(s, ctx) == []
        finally:
            restarted.dispose()
        clock.advance(minutes=30)
        with db.write() as s:
            assert paging.escalate_due(s, ctx) == [(incident_id, 2)]
        deliver(db, clock, ctx)
        pages = texts(receiver, "/pager")
        lead = [t for t in texts(receiver, "/incidents") if t.startswith("L2 page")]
    finally:
        receiver.down()
    assert len(pages) == 1 and pages[0].startswith("L1 page for incident")
    assert len(lead) == 1 and "Paging: Engineering lead" in lead[0]
    with db.read() as s:
        keys = s.scalars(
            select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.like("incident:%:L%"))
        ).all()
    assert sorted(keys) == [f"incident:{incident_id}:L1", f"incident:{incident_id}:L2"]


def test_resolving_resolves_every_page(db: Database, clock: FakeClock) -> None:
    receiver = WebhookReceiver()
    try:
        ctx = incident_ctx(clock, receiver, escalation=LADDER)
        with db.write() as s:
            incident_id = service.open_incident(
                s, ctx, title="API down", severity="P1", actor="opsbook"
            ).id
        with db.write() as s:
            paging.escalate_due(s, ctx)
        with db.write() as s:
            service.resolve(s, ctx, incident_id, actor="alice")
        with db.read() as s:
            events = s.execute(
                select(OutboxMessage.event, func.count())
                .where(OutboxMessage.dedup_key == f"incident:{incident_id}:L1")
                .group_by(OutboxMessage.event)
            ).all()
    finally:
        receiver.down()
    assert dict(events) == {"trigger": 1, "resolve": 1}


RUNBOOK = """# Ops

## Disk pressure

### Procedure

```bash
# 1. Measure
echo "used 91%"
# 2. Clean
echo "freed 2GB"
```
"""


def test_a_run_for_an_incident_lands_on_its_timeline_and_in_the_postmortem(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ops.md").write_text(RUNBOOK)
    assert cli("incident", "open", "--title", "Disk full", "--severity", "P2").exit_code == 0
    result = cli("incident", "run", "1", "ops.md", "disk pressure", "--yes")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(cli("incident", "show", "1", "--json").stdout)["incident"]
    runs = [e["text"] for e in shown["timeline"] if e["kind"] == "run"]
    assert runs[0].startswith("Run 1 started: Disk pressure")
    assert runs[1].startswith("Run 1 step 1 'Measure': ok")
    assert runs[2].startswith("Run 1 step 2 'Clean': ok")
    assert runs[-1] == "Run 1 ok"
    assert [r["ref"] for r in shown["runs"]] == ["1"]
    postmortem = cli("incident", "postmortem", "1").stdout
    assert "### Run 1: Disk pressure — ok" in postmortem
    assert "| 2 | Clean | ok | 0 |" in postmortem


def test_a_run_for_an_unknown_incident_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ops.md").write_text(RUNBOOK)
    result = cli("incident", "run", "7", "ops.md", "disk pressure", "--yes")
    assert result.exit_code == 2
    assert "no incident 7" in result.stderr


def test_an_overdue_update_sends_one_reminder_per_due_time(db: Database, clock: FakeClock) -> None:
    receiver = WebhookReceiver()
    try:
        ctx = incident_ctx(clock, receiver)
        with db.write() as s:
            incident_id = service.open_incident(
                s, ctx, title="Slow search", severity="P1", actor="a"
            ).id
        clock.advance(minutes=29)
        with db.write() as s:
            assert paging.remind_due(s, ctx) == []
        clock.advance(minutes=1)
        with db.write() as s:
            assert paging.remind_due(s, ctx) == [incident_id]
        with db.write() as s:
            assert paging.remind_due(s, ctx) == []
        with db.write() as s:
            service.post_update(s, ctx, incident_id, actor="a", message="reindexing")
        clock.advance(minutes=29)
        with db.write() as s:
            assert paging.remind_due(s, ctx) == []
        deliver(db, clock, ctx)
        reminders = [t for t in texts(receiver, "/incidents") if t.startswith("Update overdue")]
    finally:
        receiver.down()
    assert len(reminders) == 1
