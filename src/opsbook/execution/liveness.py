"""Telling a live run from one whose runner died (kill -9, power loss, a crashed server).

A run records its owner (host, pid and the process's start time, so a reused pid is not mistaken
for it) and a heartbeat. On the owner's host a dead pid is noticed at once; elsewhere a heartbeat
older than `stale_after` seconds says the same. The step processes a dead runner left behind are
ended, after checking that the process group still runs that run's step script.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psutil
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.execution import store
from opsbook.execution.model import StepStatus
from opsbook.execution.process import kill_tree
from opsbook.execution.tables import RunRow


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: float


def me() -> Owner:
    return Owner(socket.gethostname(), os.getpid(), psutil.Process().create_time())


def alive(owner: Owner) -> bool:
    try:
        return abs(psutil.Process(owner.pid).create_time() - owner.started) < 0.01
    except psutil.Error:
        return False


def reconcile(
    session: Session,
    clock: Clock,
    *,
    stale_after: float,
    dead_owners: frozenset[tuple[str, int]] = frozenset(),
) -> list[int]:
    """Mark runs whose runner died as interrupted. `dead_owners` are (host, pid) of cluster
    nodes whose heartbeat lapsed: their runs are interrupted without waiting for `stale_after`."""
    host = socket.gethostname()
    stale = {r.id for r in store.stale_runs(session, clock.now(), stale_after)}
    found: list[int] = []
    for run in store.running_runs(session):
        owner = Owner(run.owner_host, run.owner_pid, run.owner_started)
        here = run.owner_host == host
        gone = run.id in stale or (run.owner_host, run.owner_pid) in dead_owners
        if (here and alive(owner)) or (not here and not gone):
            continue
        if here:
            _end_leftovers(session, run)
        store.mark_interrupted(
            session,
            clock,
            run,
            f"the runner ({run.owner_host}:{run.owner_pid}) stopped without finishing",
        )
        found.append(run.id)
    return found


def _end_leftovers(session: Session, run: RunRow) -> None:
    for step in store.steps_of(session, run.id):
        if step.status != StepStatus.RUNNING or not step.pgid:
            continue
        try:
            cmdline = " ".join(psutil.Process(step.pgid).cmdline())
        except psutil.Error:
            continue
        if run.run_dir and run.run_dir in cmdline:
            kill_tree(step.pgid)
