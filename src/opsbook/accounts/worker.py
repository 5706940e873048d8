"""Deletes expired web sessions and old failed sign-ins every few minutes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from opsbook.accounts import service as accounts
from opsbook.accounts.service import ThrottlePolicy

if TYPE_CHECKING:
    from opsbook.runtime import Runtime

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 600.0


class SessionPruner:
    name = "accounts-pruner"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        server = runtime.config.settings.server
        self.policy = ThrottlePolicy(server.login_max_failures, server.login_window)

    def prune_once(self) -> int:
        with self.runtime.db.write() as session:
            return accounts.prune(session, self.runtime.clock.now(), self.policy)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            removed = await asyncio.to_thread(self.prune_once)
            if removed:
                log.info("pruned %d expired sessions and old failed sign-ins", removed)
            try:
                await asyncio.wait_for(stop.wait(), timeout=PRUNE_EVERY_SECONDS)
            except TimeoutError:
                continue


def session_pruner(runtime: Runtime) -> SessionPruner:
    return SessionPruner(runtime)
