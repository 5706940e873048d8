"""Units of values in conditions: a dimension and a scale to the base unit.

Metrics carry the unit their name says (`_seconds`, `_bytes`, `_ratio`) or the one a named metric
declares (`p95_latency` is in milliseconds). A literal written with a unit (`1000ms`, `90%`,
`2GB`) is converted into the unit of what it is compared with, so `p99_query_time > 1s` and
`p99_query_time > 1000` mean the same; comparing a duration with a size is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

TIME, SIZE, RATIO, RATE = "duration", "size", "fraction", "rate"


@dataclass(frozen=True, slots=True)
class Unit:
    dimension: str
    scale: float  # how many base units one of this unit is (ms: 0.001 s)
    symbol: str

    def from_base(self, value: float) -> float:
        return value / self.scale

    def to_base(self, value: float) -> float:
        return value * self.scale


SECONDS = Unit(TIME, 1.0, "s")
MILLISECONDS = Unit(TIME, 0.001, "ms")
BYTES = Unit(SIZE, 1.0, "B")
FRACTION = Unit(RATIO, 1.0, "")
PER_SECOND = Unit(RATE, 1.0, "/s")
PER_MINUTE = Unit(RATE, 1 / 60, "/min")
PER_HOUR = Unit(RATE, 1 / 3600, "/h")

UNITS = {
    "s": SECONDS,
    "ms": MILLISECONDS,
    "bytes": BYTES,
    "B": BYTES,
    "fraction": FRACTION,
    "ratio": FRACTION,
    "/s": PER_SECOND,
    "/min": PER_MINUTE,
    "/h": PER_HOUR,
}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A literal written with a unit, held in base units (seconds, bytes, fraction)."""

    base_value: float
    dimension: str


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(ms|[smhdwy])")
_DURATION_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_SIZES = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5}


def parse_number(text: str) -> float | Quantity:
    """A plain float, or a Quantity for `5%`, `1000ms`, `1h30m`, `2GB`, `1GiB`."""
    match = re.fullmatch(r"((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(.*)", text)
    assert match is not None, text
    number, suffix = float(match[1]), match[2]
    if not suffix:
        return number
    if suffix == "%":
        return Quantity(number / 100.0, RATIO)
    size = re.fullmatch(r"([kKmMgGtTpP]?)(i?)[bB]", suffix)
    if size:
        power = "kmgtp".find(size[1].lower()) + 1
        base = 1024**power if size[2] else _SIZES[size[1].lower()]
        return Quantity(number * base, SIZE)
    seconds = sum(
        float(part[1]) * _DURATION_SECONDS[part[2]] for part in _DURATION_PART.finditer(text)
    )
    return Quantity(seconds, TIME)


def duration_seconds(text: str) -> float | None:
    """Seconds for a duration literal (`5m`), None when `text` is not one."""
    value = parse_number(text)
    if isinstance(value, Quantity) and value.dimension == TIME:
        return value.base_value
    return None


def unit_from_name(name: str) -> Unit | None:
    """The unit a Prometheus-style metric name states, or None when it states none."""
    if name.endswith("_count"):
        return None
    for suffix in ("_total", "_sum", "_bucket", "_created"):
        name = name.removesuffix(suffix)
    for suffix, unit in (
        ("_milliseconds", MILLISECONDS),
        ("_seconds", SECONDS),
        ("_bytes", BYTES),
        ("_ratio", FRACTION),
    ):
        if name.endswith(suffix):
            return unit
    return None


def describe(unit: Unit | None) -> str:
    if unit is None:
        return "a plain number"
    names = {TIME: "a duration", SIZE: "a size", RATIO: "a fraction", RATE: "a rate"}
    return f"{names[unit.dimension]} ({unit.symbol or 'fraction'})"


def format_value(value: float | None, unit: Unit | None) -> str:
    """A value as people read it: `7.3%`, `1250ms`, `2.1GB`, `42`."""
    if value is None:
        return "no data"
    if unit is None:
        return _plain(value)
    if unit.dimension == RATIO:
        return f"{_plain(value * 100)}%"
    if unit.dimension == SIZE:
        return _size(value * unit.scale)
    return f"{_plain(value)}{unit.symbol}"


def _plain(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if abs(value) >= 1e15 or value in (float("inf"), float("-inf")):
        return f"{value:g}"
    if value == int(value):
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}".rstrip("0").rstrip(".")


def _size(value: float) -> str:
    for symbol, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= factor:
            return f"{_plain(round(value / factor, 2))}{symbol}"
    return f"{_plain(value)}B"
