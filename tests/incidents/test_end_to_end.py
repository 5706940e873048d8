"""From a failing check to the post-mortem, with real parts: an HTTP target the test starts, the
`http` check probing it, the store, the rule evaluator, the incident loop, the notification
outbox with its delivery worker, a webhook receiver on loopback, a real runbook run. Time is a
fake clock moved by hand."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.alerts.notifier import outbox_enqueue
from opsbook.alerts.rules import load_rules
from opsbook.alerts.worker import Evaluator
from opsbook.clock import FakeClock
from opsbook.config import Config, load_config
from opsbook.incidents import action_items, postmortem, service, timeline
from opsbook.incidents.from_alerts import rule_infos
from opsbook.incidents.service import IncidentContext
from opsbook.incidents.worker import IncidentWorker
from opsbook.notify.destinations import ChannelSet, use_channels
from opsbook.notify.worker import DeliveryWorker
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.alerts.test_end_to_end import Target, probe
from tests.notify.receivers import WebhookReceiver

CONFIG = """\
database_url: {database_url}
checks:
  - {{name: api, type: http, url: "{target}", timeout: 5s}}
channels:
  slack: ["slack+http://{receiver}/slack"]
  oncall-pager: ["slack+http://{receiver}/pager"]
  lead-pager: ["slack+http://{receiver}/lead"]
alerting:
  interval: 30s
alerts:
  - name: api_errors
    condition: error_rate > 30%
    for: 1m
    severity: critical
    channels: [slack]
    message: API error rate above 30%
    runbook: runbooks/web.md#api-errors
incidents:
  channels: [slack]
  escalation:
    - {{level: 1, target: oncall-pager, after: 0s}}
    - {{level: 2, target: lead-pager, after: 30m}}
    - {{level: 3, target: lead-pager, after: 1h}}
"""

RUNBOOK = """# Web

## API errors

### Resolution

```bash
# 1. Look at the target
echo "checking the API"
# 2. Restart it
echo "restarted"
```
"""


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.down()


class Node:
    def __init__(self, config: Config, db: Database, clock: FakeClock) -> None:
        self.config, self.db, self.clock = config, db, clock
        channels = ChannelSet.from_config(config)
        use_channels(channels)
        rules = load_rules(config)
        self.evaluator = Evaluator(
            db, clock, rules, node_id="n", enqueue=outbox_enqueue(), interval=30
        )
        self.ctx = IncidentContext.from_config(config, clock)
        runtime = Runtime(config=config, db=db, clock=clock)
        self.incidents = IncidentWorker(runtime, self.ctx, rules=rule_infos(rules))
        self.delivery = DeliveryWorker(db, clock, channels, node_id="n", rand=random.Random(1))

    def run(self, minutes: float) -> None:
        for _ in range(int(minutes * 2)):
            probe(self.db, self.clock, self.config)
            self.evaluator.cycle()
            self.incidents.tick()
            for _ in range(10):  # messages of one key go out one per round
                if not asyncio.run(self.delivery.run_once()):
                    break
            self.clock.advance(30)


def bodies(receiver: WebhookReceiver, path: str) -> list[str]:
    return [
        json.loads(r.body)["attachments"][0]["text"] for r in receiver.received if r.path == path
    ]


def test_a_failing_check_opens_pages_escalates_and_ends_in_a_postmortem(
    db: Database,
    clock: FakeClock,
    target: Target,
    receiver: WebhookReceiver,
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.format(database_url=db.url, receiver=receiver.base, target=target.url))
    (tmp_path / "web.md").write_text(RUNBOOK)
    config = load_config(path, env={})
    node = Node(config, db, clock)

    node.run(3)
    target.failing = True
    node.run(3)  # pending, then firing: the incident opens at P1 and L1 is paged
    with db.read() as s:
        [incident] = service.list_incidents(s)
    assert (incident.severity, incident.status, incident.runbook) == (
        "P1",
        "investigating",
        "runbooks/web.md#api-errors",
    )
    assert len(bodies(receiver, "/pager")) == 1
    assert bodies(receiver, "/lead") == []

    node.run(30)  # nobody acknowledges: L2 is paged once its 30 minutes have passed
    assert len(bodies(receiver, "/lead")) == 1
    assert bodies(receiver, "/lead")[0].startswith(f"L2 page for incident {incident.id}")

    with db.write() as s:
        service.acknowledge(s, node.ctx, incident.id, actor="alice")
    node.run(40)  # acknowledged: L3 (due at 1 h) never comes
    assert len(bodies(receiver, "/lead")) == 1

    # The cli fixture works from tmp_path, where the runbook is.
    result = cli(
        "incident",
        "run",
        str(incident.id),
        "web.md",
        "api errors/resolution",
        "--yes",
        "--config",
        str(path),
    )
    assert result.exit_code == 0, result.stderr

    target.failing = False
    node.run(6)  # the alert resolves: the incident moves to monitoring, not further
    with db.read() as s:
        assert service.get(s, incident.id).status == "monitoring"
    with db.write() as s:
        service.resolve(
            s,
            node.ctx,
            incident.id,
            actor="alice",
            root_cause="a bad deploy",
            resolution="rolled back",
        )
    node.run(1)
    resolution = [b for b in bodies(receiver, "/slack") if b.startswith("INCIDENT RESOLVED")]
    assert len(resolution) == 1 and "Root Cause: a bad deploy" in resolution[0]

    with db.read() as s:
        text = postmortem.draft(
            service.get(s, incident.id),
            node.ctx.policy,
            clock.now(),
            events=timeline.events(s, incident.id),
            links=timeline.links(s, incident.id),
            actions=action_items.listed(s, incident.id),
            runs=__import__("opsbook.incidents.runs", fromlist=["summaries"]).summaries(
                s, incident.id
            ),
        )
    for expected in (
        "api_errors",
        "L1 paged",
        "L2 paged",
        "Acknowledged by alice",
        "Run 1 step 2 'Restart it': ok",
        "every linked alert has resolved",
        "INCIDENT RESOLVED",
        "| 2 | Restart it | ok | 0 |",
        "## Root cause\n\na bad deploy",
    ):
        assert expected in text, expected
