"""Aggregation over a window, on raw samples or on one-minute rollups. Pure functions.

Functions: avg, min, max, sum, count, last, increase, rate and percentiles p1..p99 (p50, p95, p99).
`increase` and `rate` treat the series as a counter: a drop is a reset, counted from zero.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FUNCTIONS = ("avg", "min", "max", "sum", "count", "last", "increase", "rate")
_PERCENTILE = re.compile(r"p([1-9][0-9]?)")

RawPoint = tuple[int, float]  # (milliseconds, value)


@dataclass(frozen=True, slots=True)
class MinuteStats:
    """One minute of one series, as stored in `metric_rollups`."""

    minute_ms: int
    count: int
    sum: float
    min: float
    max: float
    p95: float
    last: float


def check_function(fn: str) -> str:
    """`fn` if it names an aggregation, else ValueError listing the choices."""
    if fn in FUNCTIONS or _PERCENTILE.fullmatch(fn):
        return fn
    raise ValueError(f"unknown aggregation {fn!r}: use {', '.join(FUNCTIONS)} or p50, p95, p99")


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def weighted_percentile(pairs: Sequence[tuple[float, int]], q: float) -> float:
    """The `q`-th percentile of values each standing for `weight` observations."""
    ordered = sorted(pairs)
    total = sum(weight for _, weight in ordered)
    target = total * q / 100.0
    seen = 0
    for value, weight in ordered:
        seen += weight
        if seen >= target:
            return value
    return ordered[-1][0]


def increase(values: Sequence[float]) -> float:
    """How much a counter grew over `values`; a drop counts as a reset to zero."""
    total = 0.0
    for before, after in itertools.pairwise(values):
        total += after - before if after >= before else after
    return total


def on_raw(fn: str, points: Sequence[RawPoint]) -> float | None:
    """`fn` over raw points in time order; None when there is no data for it."""
    if not points:
        return 0.0 if fn == "count" else None
    values = [value for _, value in points]
    if fn in _ON_VALUES:
        return _ON_VALUES[fn](values)
    if fn in ("increase", "rate"):
        return _counter(fn, points)
    match = _PERCENTILE.fullmatch(fn)
    if match:
        return percentile(values, float(match[1]))
    raise ValueError(f"unknown aggregation {fn!r}")


_ON_VALUES: dict[str, Callable[[list[float]], float]] = {
    "avg": lambda v: sum(v) / len(v),
    "min": min,
    "max": max,
    "sum": sum,
    "count": lambda v: float(len(v)),
    "last": lambda v: v[-1],
}

_ON_MINUTES: dict[str, Callable[[Sequence[MinuteStats]], float]] = {
    "avg": lambda ms: sum(m.sum for m in ms) / sum(m.count for m in ms),
    "min": lambda ms: min(m.min for m in ms),
    "max": lambda ms: max(m.max for m in ms),
    "sum": lambda ms: sum(m.sum for m in ms),
    "count": lambda ms: float(sum(m.count for m in ms)),
    "last": lambda ms: ms[-1].last,
}


def _counter(fn: str, points: Sequence[RawPoint]) -> float | None:
    if len(points) < 2:
        return None
    grown = increase([value for _, value in points])
    if fn == "increase":
        return grown
    span = (points[-1][0] - points[0][0]) / 1000.0
    return grown / span if span > 0 else None


def on_minutes(fn: str, minutes: Sequence[MinuteStats]) -> float | None:
    """`fn` over one-minute rollups in time order; percentiles are approximate here."""
    if not minutes:
        return 0.0 if fn == "count" else None
    if fn in _ON_MINUTES:
        return _ON_MINUTES[fn](minutes)
    if fn in ("increase", "rate"):
        return _counter(fn, [(m.minute_ms, m.last) for m in minutes])
    match = _PERCENTILE.fullmatch(fn)
    if match:
        q = float(match[1])
        # A minute keeps only its p95: high percentiles come from those, lower ones from the
        # minute averages, each weighted by the minute's sample count.
        pairs = [(m.p95 if q >= 95 else m.sum / m.count, m.count) for m in minutes]
        return weighted_percentile(pairs, q)
    raise ValueError(f"unknown aggregation {fn!r}")


def summarize(points: Sequence[RawPoint]) -> list[MinuteStats]:
    """Raw points in time order folded into one-minute stats."""
    result: list[MinuteStats] = []
    start = 0
    while start < len(points):
        minute = points[start][0] // 60_000 * 60_000
        end = start
        while end < len(points) and points[end][0] < minute + 60_000:
            end += 1
        values = [value for _, value in points[start:end]]
        result.append(
            MinuteStats(
                minute_ms=minute,
                count=len(values),
                sum=sum(values),
                min=min(values),
                max=max(values),
                p95=percentile(values, 95),
                last=values[-1],
            )
        )
        start = end
    return result
