"""`redis`: PING, then the INFO figures: throughput, memory, clients, evictions, hit rate."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import RedisCheck

_GAUGES = {
    "instantaneous_ops_per_sec": "redis_ops_per_second",
    "total_commands_processed": "redis_commands_processed_total",
    "used_memory": "redis_memory_used_bytes",
    "connected_clients": "redis_connected_clients",
    "blocked_clients": "redis_blocked_clients",
    "evicted_keys": "redis_evicted_keys_total",
    "keyspace_hits": "redis_keyspace_hits_total",
    "keyspace_misses": "redis_keyspace_misses_total",
}


async def probe(spec: RedisCheck, ctx: ProbeContext, obs: Observation) -> None:
    client = aioredis.Redis.from_url(
        spec.url, socket_timeout=spec.timeout, socket_connect_timeout=spec.timeout
    )
    try:
        if not await client.ping():
            obs.fail("PING was not answered with PONG")
            return
        info: dict[str, Any] = await client.info()
    finally:
        await client.aclose()
    record_info(info, spec, obs)


def record_info(info: dict[str, Any], spec: RedisCheck, obs: Observation) -> None:
    for field, name in _GAUGES.items():
        if field in info:
            obs.add(name, float(info[field]))
    hits, misses = float(info.get("keyspace_hits", 0)), float(info.get("keyspace_misses", 0))
    if hits + misses:
        obs.add("redis_keyspace_hit_ratio", hits / (hits + misses))
    limit = float(info.get("maxmemory", 0) or 0)
    if limit:
        used = float(info.get("used_memory", 0)) / limit
        obs.add("redis_memory_max_bytes", limit)
        obs.add("redis_memory_used_ratio", used)
        if spec.max_memory_used is not None and used > spec.max_memory_used:
            obs.warn(f"memory {used:.0%} of maxmemory")
