"""The backups worker: marks backups of vanished processes failed and publishes the metrics.

In a cluster only the leading node does it (both are read from and written to the store).
When it starts, every node removes what interrupted backups left in its stores
(`leftovers.remove_leftovers`): those files may be on this node's disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from opsbook.backups import service
from opsbook.backups.context import BackupContext
from opsbook.backups.leftovers import remove_leftovers
from opsbook.backups.metrics import backup_samples
from opsbook.runtime import Runtime, Worker
from opsbook.scheduler.metrics import MetricSink

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 30.0


class BackupsWorker:
    name = "backups"

    def __init__(self, runtime: Runtime, sink: MetricSink | None = None) -> None:
        self.runtime, self.sink = runtime, sink

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.remove_leftovers)
        while not stop.is_set():
            await asyncio.to_thread(self.tick)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=INTERVAL_SECONDS)

    def remove_leftovers(self) -> None:
        """Remove the staging files and unfinished uploads of interrupted backups."""
        runtime = self.runtime
        ctx = BackupContext(
            runtime.config, runtime.db, runtime.clock, runtime.node_id, redactor=runtime.redactor
        )
        for target in runtime.config.settings.backups:
            try:
                remove_leftovers(ctx, target)
            except Exception:
                log.exception("cannot remove the leftovers of backups of %s", target.name)

    def tick(self) -> None:
        if not self.runtime.leadership.lead(self.runtime.db, self.runtime.clock):
            return
        now = self.runtime.clock.now()
        with self.runtime.db.write() as session:
            service.note_targets(
                session, [t.name for t in self.runtime.config.settings.backups], now
            )
            service.mark_stale(session, now)
        if self.sink is not None:
            with self.runtime.db.read() as session:
                samples = backup_samples(session, self.runtime.config, now)
            self.sink.write(samples)


def backups_worker(runtime: Runtime) -> Worker | None:
    """The backups worker, when the config has backup targets; its metrics go to the runtime's
    shared metrics writer, where the default rules (past RPO, failed) read them."""
    from opsbook.metrics.worker import shared_writer

    if not runtime.config.settings.backups:
        return None
    return BackupsWorker(runtime, sink=shared_writer(runtime))
