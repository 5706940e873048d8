"""The cluster as JSON, for `opsbook cluster status --json` and `/api/v1/cluster` alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsbook.cluster.service import NodeStatus


def node_json(node: NodeStatus) -> dict[str, Any]:
    return {
        "id": node.id,
        "leader": node.leader,
        "alive": node.alive,
        "heartbeat_age_seconds": node.heartbeat_age_seconds,
        "checks": node.checks,
        "host": node.host,
        "pid": node.pid,
        "started_at": node.started_at.isoformat(),
        "version": node.version,
    }


def cluster_json(nodes: Sequence[NodeStatus]) -> dict[str, Any]:
    """`{"nodes": [...]}` with `leader` naming the leading node's id (null when none leads)."""
    leader = next((n.id for n in nodes if n.leader), None)
    return {
        "nodes": [node_json(n) for n in nodes],
        "leader": leader,
        "alive": sum(n.alive for n in nodes),
    }
