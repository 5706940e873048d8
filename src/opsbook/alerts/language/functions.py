"""PromQL's functions over samples, implemented as Prometheus defines them.

`extrapolated_rate` follows Prometheus' `extrapolatedRate` (counter resets, extrapolation to the
window's edges up to 110 % of the average sample spacing, never below a counter's zero point);
`bucket_quantile` follows `histogram_quantile` on classic buckets (linear interpolation,
monotonic counts, the highest finite bound when the rank falls into the +Inf bucket).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

Points = Sequence[tuple[float, float]]
NAN = float("nan")


def extrapolated_rate(
    points: Points, start: float, end: float, *, counter: bool, per_second: bool
) -> float | None:
    """rate() / increase() (counter) or delta() over `points` in the window (start, end]."""
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t = points[-1][0]
    result = points[-1][1] - first_v
    if counter:
        previous = first_v
        for _, value in points[1:]:
            if value < previous:
                result += previous
            previous = value
    sampled = last_t - first_t
    if sampled <= 0:
        return None
    average_gap = sampled / (len(points) - 1)
    threshold = average_gap * 1.1
    to_start = first_t - start
    to_end = end - last_t
    if to_start >= threshold:
        to_start = average_gap / 2
    if counter and result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    if to_end >= threshold:
        to_end = average_gap / 2
    factor = (sampled + to_start + to_end) / sampled
    if per_second:
        factor /= end - start
    return result * factor


def instant_rate(points: Points, *, counter: bool) -> float | None:
    """irate() (counter) / idelta(): from the last two samples."""
    if len(points) < 2:
        return None
    (prev_t, prev_v), (last_t, last_v) = points[-2], points[-1]
    if last_t <= prev_t:
        return None
    if not counter:
        return last_v - prev_v
    change = last_v if last_v < prev_v else last_v - prev_v
    return change / (last_t - prev_t)


def quantile(phi: float, values: Sequence[float]) -> float:
    """Prometheus' quantile(): linear interpolation between the closest ranks."""
    if not values or math.isnan(phi):
        return NAN
    if phi < 0:
        return -math.inf
    if phi > 1:
        return math.inf
    ordered = sorted(values)
    rank = phi * (len(ordered) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def bucket_quantile(phi: float, buckets: Sequence[tuple[float, float]]) -> float:
    """histogram_quantile() over (upper bound, cumulative count) pairs."""
    if math.isnan(phi) or phi < 0 or phi > 1:
        return NAN if math.isnan(phi) else math.copysign(math.inf, phi)
    merged: dict[float, float] = {}
    for bound, count in buckets:
        merged[bound] = merged.get(bound, 0.0) + count
    ordered = sorted(merged.items())
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return NAN
    counts, highest = [], 0.0
    for _, count in ordered:  # counts must not go down (scrapes are not atomic)
        highest = max(highest, count)
        counts.append(highest)
    if counts[-1] == 0:
        return NAN
    return _interpolate(phi * counts[-1], [b for b, _ in ordered], counts)


def _interpolate(rank: float, bounds: list[float], counts: list[float]) -> float:
    index = next(i for i, c in enumerate([*counts[:-1], math.inf]) if c >= rank)
    if index == len(bounds) - 1:
        return bounds[-2]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[index], counts[index]
    if index > 0:
        start = bounds[index - 1]
        count -= counts[index - 1]
        rank -= counts[index - 1]
    return start + (end - start) * (rank / count)


def _stdvar(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


OVER_TIME: dict[str, Callable[[Sequence[float]], float]] = {
    "avg_over_time": lambda v: sum(v) / len(v),
    "min_over_time": min,
    "max_over_time": max,
    "sum_over_time": sum,
    "count_over_time": lambda v: float(len(v)),
    "last_over_time": lambda v: v[-1],
    "stddev_over_time": lambda v: math.sqrt(_stdvar(v)),
    "stdvar_over_time": _stdvar,
    "present_over_time": lambda v: 1.0,
}

AGGREGATE: dict[str, Callable[[Sequence[float]], float]] = {
    "sum": sum,
    "avg": lambda v: sum(v) / len(v),
    "min": min,
    "max": max,
    "count": lambda v: float(len(v)),
    "stddev": lambda v: math.sqrt(_stdvar(v)),
    "stdvar": _stdvar,
    "group": lambda v: 1.0,
}

ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": lambda v: float(math.ceil(v)) if math.isfinite(v) else v,
    "floor": lambda v: float(math.floor(v)) if math.isfinite(v) else v,
    "round": lambda v: float(math.floor(v + 0.5)) if math.isfinite(v) else v,
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else NAN,
    "exp": math.exp,
    "ln": lambda v: math.log(v) if v > 0 else (-math.inf if v == 0 else NAN),
}


def _divide(left: float, right: float) -> float:
    if right == 0:
        return NAN if left == 0 or math.isnan(left) else math.copysign(math.inf, left)
    return left / right


def _power(left: float, right: float) -> float:
    try:
        return float(left**right)
    except (OverflowError, ZeroDivisionError):
        return math.inf


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
    "%": lambda left, right: math.fmod(left, right) if right != 0 else NAN,
    "^": _power,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def arithmetic(op: str, left: float, right: float) -> float:
    """Binary arithmetic with IEEE results where Python would raise (x/0 is ±Inf or NaN)."""
    return _ARITHMETIC[op](left, right)


def compare(op: str, left: float, right: float) -> bool:
    return _COMPARE[op](left, right)
