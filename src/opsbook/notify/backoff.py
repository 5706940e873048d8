"""The retry schedule: exponential back-off with jitter and a cap. Pure functions."""

from __future__ import annotations

import random

from opsbook.config.channels import ChannelConfig

RETRY_AFTER_CAP = 3600.0
"""Longest wait a receiver's Retry-After can impose (seconds)."""


def base_delay(attempt: int, initial: float, cap: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based), before jitter.

    initial × 2^(attempt−1), never more than `cap`: 10s, 20s, 40s, ... 600s, 600s, ...
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    exponent = min(attempt - 1, 62)  # 2**62 seconds is past any cap; avoids float overflow
    return float(min(cap, initial * 2**exponent))


def retry_delay(
    settings: ChannelConfig,
    attempt: int,
    rand: random.Random,
    receiver_asked: float | None = None,
) -> float:
    """Seconds until the next attempt after failed attempt `attempt`.

    The base delay is varied by ±`backoff_jitter` so many messages that failed together do not
    retry together, and never exceeds `backoff_max`; a receiver's Retry-After wins when longer.
    """
    delay = base_delay(attempt, settings.backoff_initial, settings.backoff_max)
    if settings.backoff_jitter:
        delay *= 1.0 + rand.uniform(-settings.backoff_jitter, settings.backoff_jitter)
    delay = min(max(delay, 0.0), settings.backoff_max)
    if receiver_asked is not None:
        delay = max(delay, min(receiver_asked, RETRY_AFTER_CAP))
    return delay


def schedule(settings: ChannelConfig) -> list[float]:
    """The waits between every attempt a message gets, without jitter (for docs and tests)."""
    return [
        base_delay(n, settings.backoff_initial, settings.backoff_max)
        for n in range(1, settings.max_attempts)
    ]
