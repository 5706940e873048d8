"""The cluster in Prometheus exposition, for the server's `/metrics` (a `prometheus_client`
collector: each scrape reads the node rows once)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from opsbook.clock import Clock
from opsbook.cluster import service
from opsbook.storage import Database


class ClusterCollector(Collector):
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.db.read() as session:
            nodes = service.status(session, self.clock.now())
        yield _gauge(
            "opsbook_cluster_nodes", "Live nodes sharing the store.", [], [([], len(nodes))]
        )
        per_node = [([n.id], n) for n in nodes]
        yield _gauge(
            "opsbook_cluster_node_checks",
            "Checks each live node ran most recently.",
            ["node"],
            [(labels, n.checks) for labels, n in per_node],
        )
        yield _gauge(
            "opsbook_cluster_leader",
            "1 for the node that holds the leader lease, 0 for the others.",
            ["node"],
            [(labels, 1.0 if n.leader else 0.0) for labels, n in per_node],
        )
        yield _gauge(
            "opsbook_cluster_node_heartbeat_age_seconds",
            "Seconds since each live node's last heartbeat.",
            ["node"],
            [(labels, n.heartbeat_age_seconds) for labels, n in per_node],
        )


def _gauge(
    name: str, doc: str, labels: list[str], values: list[tuple[list[str], float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family
