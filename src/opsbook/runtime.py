"""The composition root: configuration, store, clock and every background worker in one loop.

The CLI (`opsbook watch`, `opsbook serve`) and the web layer build one `Runtime` and hand it to
the domain services and workers. Each worker is an async loop that claims its work through the
store, so a restarted process picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from opsbook.actions import ActionRegistry
from opsbook.clock import Clock, SystemClock
from opsbook.cluster.leadership import Leadership
from opsbook.config import Config
from opsbook.maintenance import actions as maintenance_actions
from opsbook.secrets import Redactor
from opsbook.storage import Database
from opsbook.storage.wakeup import Wakeup

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_AFTER_SECONDS = 60.0


class Worker(Protocol):
    """A background loop. `run` returns when `stop` is set."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


def default_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Runtime:
    config: Config
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    node_id: str = field(default_factory=default_node_id)
    leadership: Leadership = field(init=False)
    wakeup: Wakeup = field(init=False)

    def __post_init__(self) -> None:
        self.leadership = Leadership(self.node_id, self.config.settings.cluster.lease)
        self.wakeup = Wakeup(self.db)

    @property
    def redactor(self) -> Redactor:
        return self.config.redactor


WorkerFactory = Callable[[Runtime], Worker | None]
"""Builds a domain's worker for a runtime, or None when the config gives it nothing to do."""


def action_registry() -> ActionRegistry:
    """Every built-in action, registered by its domain. Add a domain's `register_actions` here."""
    from opsbook.backups.actions import register_actions as backups

    registry = ActionRegistry()
    backups(registry)
    maintenance_actions.register_actions(registry)
    return registry


def worker_factories() -> list[WorkerFactory]:
    """Every domain's worker factory, in start order. Add a domain's factory here."""
    from opsbook.accounts.worker import session_pruner
    from opsbook.alerts.worker import worker_factory as alerts
    from opsbook.backups.worker import backups_worker
    from opsbook.checks import worker as checks_worker
    from opsbook.cluster import upkeep as cluster_upkeep
    from opsbook.incidents import worker as incidents_worker
    from opsbook.metrics import worker as metrics_worker
    from opsbook.notify import worker as notify_worker
    from opsbook.scheduler.worker import scheduler_worker

    return [
        _node_worker,
        _wakeup_listener,
        cluster_upkeep.factory,
        scheduler_worker,
        backups_worker,
        notify_worker.factory,
        notify_worker.health_factory,
        incidents_worker.factory,
        checks_worker.make_worker,
        metrics_worker.make_worker,
        alerts,
        session_pruner,
    ]


def _node_worker(rt: Runtime) -> Worker:
    from opsbook.cluster.worker import NodeWorker

    cluster = rt.config.settings.cluster
    return NodeWorker(
        rt.db, rt.clock, rt.node_id, rt.leadership, lease=cluster.lease, heartbeat=cluster.heartbeat
    )


class _WakeupListener:
    name = "wakeup"

    def __init__(self, wakeup: Wakeup) -> None:
        self.wakeup = wakeup

    async def run(self, stop: asyncio.Event) -> None:
        await self.wakeup.listen(stop)


def _wakeup_listener(rt: Runtime) -> Worker:
    return _WakeupListener(rt.wakeup)


def build_workers(rt: Runtime) -> list[Worker]:
    """The workers this runtime's config gives something to do."""
    return [w for factory in worker_factories() if (w := factory(rt)) is not None]


async def run_workers(workers: list[Worker], stop: asyncio.Event) -> None:
    """Run every worker until `stop` is set; a worker that crashes is logged and restarted."""
    tasks = [asyncio.create_task(_supervise(w, stop), name=w.name) for w in workers]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _supervise(worker: Worker, stop: asyncio.Event) -> None:
    """Run `worker`, restarting it with growing delays when it crashes; a worker that ran well
    for a while before crashing starts again from the shortest delay. Losing the store (it
    restarted, the network blipped) is a warning, not a traceback."""
    from sqlalchemy.exc import DBAPIError

    failures = 0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        try:
            await worker.run(stop)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if loop.time() - started > HEALTHY_AFTER_SECONDS:
                failures = 0
            delay = RESTART_DELAY_SECONDS[min(failures, len(RESTART_DELAY_SECONDS) - 1)]
            failures += 1
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                first = (str(exc.orig or exc).splitlines() or [""])[0]
                log.warning(
                    "worker %s lost the store (%s); restarting in %.0fs", worker.name, first, delay
                )
            else:
                log.exception("worker %s crashed; restarting in %.0fs", worker.name, delay)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue


class RedactingFilter(logging.Filter):
    """Masks secrets in every log record before any handler sees it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Tracebacks carry exception text (a failed URL, a connection string): mask it too.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor.redact(text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor) -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
