"""The leading node's care of the cluster, every few seconds:

- runs whose node died are marked `interrupted` (resumable from any node), without waiting for
  their heartbeat to go stale;
- per-machine check rows (`NAME@HOST`) of machines that no longer run a node are retired;
- nodes dead for a day are forgotten;
- the cluster's figures go to the metrics store (`cluster_nodes`, `cluster_node_up{node}`,
  `cluster_node_checks{node}`, `cluster_leader{node}`), so an alert rule can page when a node
  is lost.

All of it is done in one transaction that checks `holds()` first.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from opsbook.checks.placement import SEPARATOR
from opsbook.checks.tables import CheckState
from opsbook.cluster import service
from opsbook.cluster.tables import NodeRow
from opsbook.metrics.model import Sample

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)

EVERY_SECONDS = 5.0
FORGET_AFTER_SECONDS = 86400.0


@dataclass
class UpkeepReport:
    interrupted_runs: list[int] = field(default_factory=list)
    retired_checks: int = 0
    forgotten_nodes: int = 0
    samples: list[Sample] = field(default_factory=list)


class ClusterUpkeep:
    name = "cluster-upkeep"

    def __init__(self, runtime: Runtime, every: float = EVERY_SECONDS) -> None:
        self.runtime, self.every = runtime, every

    async def run(self, stop: asyncio.Event) -> None:
        from opsbook.metrics.worker import shared_writer

        while not stop.is_set():
            try:
                report = await asyncio.to_thread(self.tick)
            except DBAPIError:
                report = None  # the node loop reports the store's trouble
            if report is not None:
                shared_writer(self.runtime).extend(report.samples)
                for run_id in report.interrupted_runs:
                    log.warning("run %s interrupted: its node is dead; resume it anywhere", run_id)
            await self.runtime.wakeup.idle(stop, self.runtime.wakeup.mark("cluster"), self.every)

    def tick(self) -> UpkeepReport | None:
        """One pass, on the leader only; None elsewhere."""
        runtime = self.runtime
        if runtime.leadership.current(runtime.clock.now()) is None:
            return None
        with runtime.db.write() as session:
            if not runtime.leadership.holds(session, runtime.clock):
                return None
            return upkeep(session, runtime)


def upkeep(session: Session, runtime: Runtime) -> UpkeepReport:
    from opsbook.execution import service as runs

    now = runtime.clock.now()
    report = UpkeepReport()
    dead = service.dead_owners(session, now)
    report.interrupted_runs = runs.reconcile(
        session, runtime.clock, runtime.config, dead_owners=frozenset(dead)
    )
    report.retired_checks = retire_orphan_checks(session)
    report.forgotten_nodes = service.forget_dead(session, now, FORGET_AFTER_SECONDS)
    report.samples = samples(session, now)
    return report


def retire_orphan_checks(session: Session) -> int:
    """Retire active `NAME@HOST` rows whose machine has no node row any more (its nodes were
    forgotten a day after they stopped); a node started there again brings them back."""
    hosts = set(session.scalars(select(NodeRow.host)))
    orphans = [
        name
        for name, host in session.execute(
            select(CheckState.name, CheckState.host).where(
                CheckState.active.is_(True), CheckState.host.is_not(None)
            )
        )
        if SEPARATOR in name and host not in hosts
    ]
    if orphans:
        session.execute(
            update(CheckState)
            .where(CheckState.name.in_(orphans))
            .values(active=False, claimed_by=None, claimed_until=None)
        )
    return len(orphans)


def samples(session: Session, now: datetime) -> list[Sample]:
    """The cluster's figures as metric samples."""
    nodes = service.status(session, now, include_dead=True)
    recent = [n for n in nodes if n.alive or n.heartbeat_age_seconds < 3600]
    out = [Sample("cluster_nodes", {}, float(sum(n.alive for n in nodes)), now)]
    for node in recent:
        labels = {"node": node.id}
        out.append(Sample("cluster_node_up", labels, 1.0 if node.alive else 0.0, now))
        out.append(Sample("cluster_node_checks", labels, float(node.checks), now))
        out.append(Sample("cluster_leader", labels, 1.0 if node.leader else 0.0, now))
    return out


def factory(runtime: Runtime) -> ClusterUpkeep:
    return ClusterUpkeep(runtime)
