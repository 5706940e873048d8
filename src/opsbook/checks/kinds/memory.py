"""`memory`: physical memory and swap in use, through psutil."""

from __future__ import annotations

import asyncio

import psutil

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import MemoryCheck


async def probe(spec: MemoryCheck, ctx: ProbeContext, obs: Observation) -> None:
    memory = await asyncio.to_thread(psutil.virtual_memory)
    swap = await asyncio.to_thread(psutil.swap_memory)
    used = 1 - memory.available / memory.total
    obs.add("memory_total_bytes", memory.total)
    obs.add("memory_available_bytes", memory.available)
    obs.add("memory_used_ratio", used)
    obs.add("swap_used_ratio", swap.percent / 100)
    if used > spec.max_used:
        obs.fail(f"memory is {used:.0%} used")
    elif used > spec.warn_used:
        obs.warn(f"memory is {used:.0%} used")
