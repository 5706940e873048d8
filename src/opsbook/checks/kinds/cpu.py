"""`cpu` (or `load`): load averages per core, and the busy share of CPU time since the last run.

The CPU times of the last run are the check's cursor, kept in the store with the host's name, so
a restarted process measures from where the last one stopped (and a different host starts over).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import psutil

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import CpuCheck

FIRST_SAMPLE_SECONDS = 0.25  # with no previous run, measure over this long


def cpu_counters() -> dict[str, Any]:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    total = sum(getattr(times, f) for f in times._fields if f not in ("guest", "guest_nice"))
    return {"host": socket.gethostname(), "busy": total - idle, "total": total}


def busy_share(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    elapsed = after["total"] - before["total"]
    if before.get("host") != after["host"] or elapsed <= 0:
        return None
    share = float(after["busy"] - before["busy"]) / float(elapsed)
    return min(1.0, max(0.0, share))


async def probe(spec: CpuCheck, ctx: ProbeContext, obs: Observation) -> None:
    cores = psutil.cpu_count() or 1
    load1, load5, load15 = os.getloadavg()
    obs.add("cpu_cores", cores)
    obs.add("cpu_load1", load1)
    obs.add("cpu_load5", load5)
    obs.add("cpu_load15", load15)
    obs.add("cpu_load1_per_core", load1 / cores)
    now = await asyncio.to_thread(cpu_counters)
    usage = busy_share(obs.previous, now) if obs.previous else None
    if usage is None:
        await asyncio.sleep(FIRST_SAMPLE_SECONDS)
        later = await asyncio.to_thread(cpu_counters)
        usage, now = busy_share(now, later), later
    obs.cursor = now
    if usage is not None:
        obs.add("cpu_usage_ratio", usage)
        if spec.max_usage is not None and usage > spec.max_usage:
            obs.warn(f"CPU {usage:.0%} busy")
    per_core = load1 / cores
    if spec.max_load_per_core is not None and per_core > spec.max_load_per_core:
        obs.fail(f"load {load1:.2f} on {cores} cores")
    elif per_core > spec.warn_load_per_core:
        obs.warn(f"load {load1:.2f} on {cores} cores")
