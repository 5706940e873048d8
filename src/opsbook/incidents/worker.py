"""The incident loop: page the ladder levels that came due and remind about overdue updates.

Each pass claims due incidents with row locks other nodes skip, so several nodes can run it
without paging twice; a restarted process simply finds what is still due. Between passes it
waits for an incident event announced by any node (a new incident pages its first level at
once; an acknowledgement is seen at once), for alert transitions recorded by the leader (an
alert that opens an incident does so at once), or `poll` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from opsbook.alerts.service import TRANSITIONS
from opsbook.incidents import paging, service
from opsbook.incidents.from_alerts import RuleInfo, follow_alerts, rule_infos
from opsbook.incidents.service import IncidentContext
from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class IncidentWorker:
    name = "incidents"

    def __init__(
        self,
        runtime: Runtime,
        ctx: IncidentContext,
        *,
        rules: Mapping[str, RuleInfo] | None = None,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.runtime, self.ctx, self.poll = runtime, ctx, poll
        self.rules = rules or {}

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = self.runtime.wakeup
        while not stop.is_set():
            seen = wakeup.mark(service.TOPIC, TRANSITIONS)
            await asyncio.to_thread(self.tick)
            await wakeup.idle(stop, seen, self.poll)

    def tick(self) -> None:
        """One pass: alert transitions (they open incidents), escalations, update reminders."""
        with self.runtime.db.write() as session:
            opened = follow_alerts(session, self.ctx, self.rules)
        for incident_id in opened:
            log.info("incident %s: alerts changed", incident_id)
        with self.runtime.db.write() as session:
            paged = paging.escalate_due(session, self.ctx)
        with self.runtime.db.write() as session:
            reminded = paging.remind_due(session, self.ctx)
        for incident_id, level in paged:
            log.info("incident %s: paged L%s", incident_id, level)
        for incident_id in reminded:
            log.info("incident %s: update overdue, reminder sent", incident_id)


def factory(runtime: Runtime) -> IncidentWorker:
    from opsbook.alerts.rules import load_rules

    ctx = IncidentContext.from_config(runtime.config, runtime.clock)
    return IncidentWorker(runtime, ctx, rules=rule_infos(load_rules(runtime.config)))
