"""`disk`: space and inodes per mount, through psutil (in a thread: a hung mount blocks)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import psutil

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import DiskCheck


@dataclass(frozen=True)
class MountUsage:
    mount: str
    total: int
    used: int
    free: int
    used_ratio: float
    inodes_used_ratio: float | None


def local_mounts() -> list[str]:
    """Mount points of local disks, each device once."""
    seen: set[str] = set()
    mounts = []
    for part in psutil.disk_partitions(all=False):
        if part.device not in seen:
            seen.add(part.device)
            mounts.append(part.mountpoint)
    return mounts or ["/"]


def measure(mount: str) -> MountUsage:
    usage = psutil.disk_usage(mount)
    stat = os.statvfs(mount)
    inodes = 1 - stat.f_ffree / stat.f_files if stat.f_files else None
    return MountUsage(mount, usage.total, usage.used, usage.free, usage.percent / 100, inodes)


async def probe(spec: DiskCheck, ctx: ProbeContext, obs: Observation) -> None:
    mounts = spec.mounts or await asyncio.to_thread(local_mounts)
    for mount in mounts:
        try:
            usage = await asyncio.to_thread(measure, mount)
        except FileNotFoundError:
            obs.fail(f"{mount}: no such mount point")
            continue
        obs.add("disk_total_bytes", usage.total, mount=mount)
        obs.add("disk_used_bytes", usage.used, mount=mount)
        obs.add("disk_free_bytes", usage.free, mount=mount)
        obs.add("disk_used_ratio", usage.used_ratio, mount=mount)
        if usage.inodes_used_ratio is not None:
            obs.add("disk_inodes_used_ratio", usage.inodes_used_ratio, mount=mount)
        worst = max(usage.used_ratio, usage.inodes_used_ratio or 0.0)
        what = "inodes" if worst > usage.used_ratio else "full"
        if worst > spec.max_used:
            obs.fail(f"{mount} is {worst:.0%} {what}")
        elif worst > spec.warn_used:
            obs.warn(f"{mount} is {worst:.0%} {what}")
