"""/api/v1/cluster: the nodes sharing this store, who leads, and what each runs."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from opsbook.accounts.model import Role
from opsbook.cluster import service
from opsbook.cluster.schema import cluster_json
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.security import RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["cluster"])


@router.get("/cluster", openapi_extra=needs(Role.VIEWER))
def cluster(
    runtime: RuntimeDep,
    all_nodes: bool = Query(
        default=False, alias="all", description="Include nodes that stopped or died (24 h)."
    ),
) -> dict[str, Any]:
    """Each node: `id`, `leader`, `alive`, `heartbeat_age_seconds`, `checks`, `host`, `pid`,
    `started_at`, `version`; the shape of `opsbook cluster status --json`."""
    with runtime.db.read() as session:
        nodes = service.status(session, runtime.clock.now(), include_dead=all_nodes)
    return {**cluster_json(nodes), "node": runtime.node_id}
