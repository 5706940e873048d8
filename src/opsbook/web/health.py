"""The /health rollup: the store and every check, in the shape of a runbook's health check.

    {"status": "healthy", "checks": [{"name": "store", "status": "healthy", "critical": true,
     "latency": 1.2}], "timestamp": "2026-01-05T12:00:00+00:00"}

A critical check that is unhealthy makes the whole unhealthy; a non-critical one that is
unhealthy, or any degraded check, makes it degraded. The result is computed at most once per
`CACHE_SECONDS`, so a load balancer polling /health costs the store almost nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from opsbook.runtime import Runtime
from opsbook.web.snapshot import Snapshot

CACHE_SECONDS = 1.0
HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"

HealthSource = Callable[[Runtime], list[dict[str, Any]]]
"""Returns one entry per check: name, status, critical, and latency (ms) or error if known."""


def store_health(runtime: Runtime) -> list[dict[str, Any]]:
    started = time.perf_counter()
    try:
        with runtime.db.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - the store being down is the answer
        message = runtime.redactor.redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
        return [{"name": "store", "status": UNHEALTHY, "critical": True, "error": message}]
    latency = round((time.perf_counter() - started) * 1000, 1)
    return [{"name": "store", "status": HEALTHY, "critical": True, "latency": latency}]


def rollup(checks: list[dict[str, Any]]) -> str:
    if any(c["status"] == UNHEALTHY and c.get("critical") for c in checks):
        return UNHEALTHY
    if any(c["status"] != HEALTHY for c in checks):
        return DEGRADED
    return HEALTHY


class HealthReport:
    """The /health report and its JSON body, recomputed at most once per CACHE_SECONDS."""

    def __init__(self, runtime: Runtime, sources: tuple[HealthSource, ...] = (store_health,)):
        self.runtime = runtime
        self.sources = sources
        self.snapshot = Snapshot(self._compute, CACHE_SECONDS)

    def current(self) -> dict[str, Any]:
        """The report, for code running in a thread."""
        return self.snapshot.get_sync()[0]

    def _compute(self) -> tuple[dict[str, Any], bytes]:
        checks = [entry for source in self.sources for entry in source(self.runtime)]
        report = {
            "status": rollup(checks),
            "checks": checks,
            "timestamp": self.runtime.clock.now().isoformat(),
        }
        return report, json.dumps(report).encode()
