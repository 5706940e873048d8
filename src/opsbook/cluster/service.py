"""Membership: each node registers, heartbeats, and is dead to the others once its heartbeat is
older than its lease. Leadership is the `leader` lease (storage.coordination)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opsbook import __version__
from opsbook.checks.tables import CheckState
from opsbook.cluster.leadership import LEADER_LEASE
from opsbook.cluster.tables import NodeRow
from opsbook.storage.coordination import current_holder

RECENTLY_DEAD_SECONDS = 3600.0


@dataclass(frozen=True)
class NodeStatus:
    id: str
    host: str
    pid: int
    leader: bool
    alive: bool
    heartbeat_age_seconds: float
    checks: int
    started_at: datetime
    version: str


def register(session: Session, node_id: str, now: datetime, lease_seconds: float) -> NodeRow:
    """Announce this process as node `node_id` (a restart with the same id takes the row over)."""
    row = session.get(NodeRow, node_id)
    if row is None:
        row = NodeRow(id=node_id)
        session.add(row)
    row.host, row.pid, row.version = socket.gethostname(), os.getpid(), __version__
    row.started_at = row.heartbeat_at = now
    row.lease_seconds, row.stopped_at = lease_seconds, None
    session.flush()
    return row


def heartbeat(session: Session, node_id: str, now: datetime) -> bool:
    """Refresh the heartbeat; False when the row is gone (re-register then)."""
    row = session.get(NodeRow, node_id)
    if row is None:
        return False
    row.heartbeat_at = now
    row.stopped_at = None
    return True


def stop(session: Session, node_id: str, now: datetime) -> None:
    row = session.get(NodeRow, node_id)
    if row is not None:
        row.stopped_at = now


def is_alive(row: NodeRow, now: datetime) -> bool:
    return row.stopped_at is None and row.heartbeat_at + timedelta(seconds=row.lease_seconds) > now


def live_nodes(session: Session, now: datetime) -> list[NodeRow]:
    rows = session.scalars(select(NodeRow).order_by(NodeRow.id)).all()
    return [r for r in rows if is_alive(r, now)]


def dead_node_ids(
    session: Session, now: datetime, within: float = RECENTLY_DEAD_SECONDS
) -> list[str]:
    """Ids of nodes that stopped or whose heartbeat expired within the last `within` seconds:
    whatever they had claimed is free for the others. (A node with no row yet counts as alive.)"""
    since = now - timedelta(seconds=within)
    rows = session.scalars(select(NodeRow).where(NodeRow.heartbeat_at >= since)).all()
    return [row.id for row in rows if not is_alive(row, now)]


def dead_owners(session: Session, now: datetime) -> set[tuple[str, int]]:
    """(host, pid) of recently dead nodes: the processes whose runs are interrupted."""
    since = now - timedelta(seconds=RECENTLY_DEAD_SECONDS)
    rows = session.scalars(select(NodeRow).where(NodeRow.heartbeat_at >= since)).all()
    alive = {(r.host, r.pid) for r in rows if is_alive(r, now)}
    return {(r.host, r.pid) for r in rows if not is_alive(r, now)} - alive


def forget_dead(session: Session, now: datetime, older_than: float = 86400.0) -> int:
    """Drop rows of nodes dead for longer than `older_than` seconds; returns how many."""
    cutoff = now - timedelta(seconds=older_than)
    rows = session.scalars(select(NodeRow).where(NodeRow.heartbeat_at < cutoff)).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def release_claims(session: Session, node_id: str) -> int:
    """Free the check claims held under `node_id` by a previous process with that id (it was
    killed and restarted): this process knows nothing of them. Returns how many."""
    freed = session.execute(
        update(CheckState)
        .where(CheckState.claimed_by == node_id)
        .values(claimed_by=None, claimed_until=None)
    )
    return int(freed.rowcount or 0)  # type: ignore[attr-defined]


def checks_per_node(session: Session) -> dict[str, int]:
    """How many active checks each node ran most recently. Checks are claimed by whichever
    node is free when they come due, so the split shifts a little between intervals."""
    rows = session.execute(
        select(CheckState.last_node, func.count())
        .where(CheckState.active.is_(True), CheckState.last_node.is_not(None))
        .group_by(CheckState.last_node)
    ).all()
    return {str(node): int(count) for node, count in rows}


def status(
    session: Session,
    now: datetime,
    counts: Mapping[str, int] | None = None,
    *,
    include_dead: bool = False,
) -> Sequence[NodeStatus]:
    """Every known node (live ones, and dead ones when asked) with leadership and work."""
    leader = current_holder(session, LEADER_LEASE, now)
    counts = checks_per_node(session) if counts is None else counts
    result = []
    for row in session.scalars(select(NodeRow).order_by(NodeRow.id)).all():
        alive = is_alive(row, now)
        if not alive and not include_dead:
            continue
        result.append(
            NodeStatus(
                id=row.id,
                host=row.host,
                pid=row.pid,
                leader=leader is not None and leader.holder == row.id and alive,
                alive=alive,
                heartbeat_age_seconds=round((now - row.heartbeat_at).total_seconds(), 3),
                checks=counts.get(row.id, 0),
                started_at=row.started_at,
                version=row.version,
            )
        )
    return result
