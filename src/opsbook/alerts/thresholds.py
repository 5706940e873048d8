"""Dashboard thresholds: a metric and its green / yellow / red bands, evaluated like rules.

A row `P95 Latency | < 500ms | 500-1000ms | > 1000ms` names a metric as the runbook writes it;
it resolves to a named metric (`p95_latency`) or is read as an expression in the condition
language. Bands are `< x`, `<= x`, `> x`, `>= x` or a range `x-y` (both ends included), with units
converted into the metric's unit (`1s` against milliseconds is 1000, `5%` is 0.05, `5/min`,
`100 req/s`). A value is green when it is in the green band, else red when in the red band, else
yellow when in the yellow band; a row with only a green target (`CPU usage: < 70%`) is red
outside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from opsbook.alerts.language import Compiled, ConditionError, compile_condition, evaluate
from opsbook.alerts.language.series import Labels, SeriesSource
from opsbook.alerts.language.units import (
    PER_SECOND,
    RATE,
    TIME,
    Quantity,
    Unit,
    format_value,
    parse_number,
)
from opsbook.alerts.named import MetricCatalog, default_catalog
from opsbook.config.model import OpsbookConfig
from opsbook.units import parse_duration


class Color(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    UNKNOWN = "unknown"  # no data


@dataclass(frozen=True, slots=True)
class Band:
    low: float | None  # None: unbounded
    high: float | None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value: float) -> bool:
        below = self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        )
        if below:
            return False
        if self.high is not None:
            return value < self.high or (value == self.high and self.high_inclusive)
        return True


@dataclass(frozen=True)
class CompiledThreshold:
    metric: str  # as written
    resolved: str  # the named metric or expression it means
    compiled: Compiled | None  # None: opsbook records nothing it could measure this with
    green: Band | None
    yellow: Band | None
    red: Band | None
    unmeasured: str = ""  # why it cannot be measured

    def color(self, value: float | None) -> Color:
        if value is None or self.compiled is None:
            return Color.UNKNOWN
        if self.green and self.green.contains(value):
            return Color.GREEN
        if self.red and self.red.contains(value):
            return Color.RED
        if self.yellow and self.yellow.contains(value):
            return Color.YELLOW
        return Color.RED if self.yellow is None or self.red is None else Color.YELLOW


@dataclass(frozen=True, slots=True)
class ThresholdStatus:
    metric: str
    labels: dict[str, str]
    value: float | None
    display: str
    color: Color


_BAND = re.compile(
    r"\s*(?:(?P<op><=|>=|<|>|≤|≥)\s*(?P<one>[^\s-][^-–]*?)"
    r"|(?P<low>[\d.]+\s*[^\s\d.-–]*)\s*[-–]\s*(?P<high>[\d.]+.*?))\s*"
)
_RATE_SUFFIX = re.compile(
    r"^(?P<num>[\d.]+)\s*(?:[a-z]+)?\s*/\s*(?P<per>s|sec|second|min|minute|m|h|hr|hour|d|day)$"
)
_PER = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "m": 60, "h": 3600, "hr": 3600}
_PER |= {"hour": 3600, "d": 86400, "day": 86400}


def compile_threshold(
    metric: str,
    green: str,
    yellow: str,
    red: str,
    catalog: MetricCatalog | None = None,
) -> CompiledThreshold:
    """Resolve the metric and parse the bands; raises ValueError with what is wrong."""
    catalog = catalog or default_catalog()
    if not (green or yellow or red):
        raise ValueError("a threshold needs at least one of green, yellow and red")
    named = catalog.by_alias(metric)
    resolved = named.name if named else metric.strip()
    try:
        compiled = compile_condition(resolved, catalog, require_test=False)
    except ConditionError as exc:
        if named is not None:
            raise ValueError(str(exc)) from None
        # A business figure a runbook tracks ("User Satisfaction Score") that no check
        # records: shown as not measured, never as green.
        return CompiledThreshold(
            metric,
            resolved,
            None,
            None,
            None,
            None,
            unmeasured=f"no named metric or recorded metric is called {metric!r} ({exc.message})",
        )
    unit = compiled.unit
    return CompiledThreshold(
        metric,
        resolved,
        compiled,
        _band(green, unit, "green"),
        _band(yellow, unit, "yellow"),
        _band(red, unit, "red"),
    )


def _band(text: str, unit: Unit | None, color: str) -> Band | None:
    if not text.strip():
        return None
    match = _BAND.fullmatch(text)
    if not match:
        raise ValueError(f"{color} band {text!r}: write it like `< 500ms`, `> 90%` or `50-70%`")
    if match["op"]:
        value = _amount(match["one"], unit, color, text)
        op = match["op"].replace("≤", "<=").replace("≥", ">=")
        if op.startswith("<"):
            return Band(None, value, high_inclusive=op == "<=")
        return Band(value, None, low_inclusive=op == ">=")
    high_text = match["high"].strip()
    suffix = re.sub(r"^[\d.]+", "", high_text)
    low_text = match["low"].strip()
    if re.fullmatch(r"[\d.]+", low_text):
        low_text += suffix  # "500-1000ms": the unit written once applies to both ends
    return Band(_amount(low_text, unit, color, text), _amount(high_text, unit, color, text))


def _amount(text: str, unit: Unit | None, color: str, band: str) -> float:
    text = text.strip()
    rate = _RATE_SUFFIX.fullmatch(text.lower())
    if rate:
        per_second = float(rate["num"]) / float(_PER[rate["per"]])
        target = unit if unit is not None and unit.dimension == RATE else PER_SECOND
        return target.from_base(per_second)
    try:
        value = parse_number(text.replace(" ", ""))
    except (AssertionError, ValueError, KeyError):
        value = _spelled_duration(text, color, band)
    if isinstance(value, Quantity):
        if unit is None:
            return value.base_value
        if value.dimension != unit.dimension:
            raise ValueError(
                f"{color} band {band!r}: {text} is a {value.dimension}, "
                f"but the metric is a {unit.dimension}"
            )
        return unit.from_base(value.base_value)
    return value


def _spelled_duration(text: str, color: str, band: str) -> Quantity:
    """`45 seconds`, `30 days`: durations as runbooks spell them."""
    try:
        return Quantity(parse_duration(text), TIME)
    except ValueError:
        raise ValueError(f"{color} band {band!r}: cannot read {text!r} as a number") from None


def threshold_windows(thresholds: list[CompiledThreshold]) -> dict[str, float]:
    """Every metric the thresholds read, with its longest window (for a store snapshot)."""
    windows: dict[str, float] = {}
    for threshold in thresholds:
        for name, window in (threshold.compiled.windows if threshold.compiled else {}).items():
            windows[name] = max(windows.get(name, 0.0), window)
    return windows


def evaluate_thresholds(
    thresholds: list[CompiledThreshold], source: SeriesSource, at: float, lookback: float = 300.0
) -> list[ThresholdStatus]:
    """The color of every series of every threshold at `at` (seconds since the epoch)."""
    statuses: list[ThresholdStatus] = []
    for threshold in thresholds:
        if threshold.compiled is None:
            statuses.append(
                ThresholdStatus(threshold.metric, {}, None, "not measured", Color.UNKNOWN)
            )
            continue
        outcome = evaluate(threshold.compiled.node, source, at, lookback=lookback)
        series: dict[Labels, tuple[float, bool]] = dict(outcome.series)
        if not series:
            statuses.append(ThresholdStatus(threshold.metric, {}, None, "no data", Color.UNKNOWN))
        for labels, (value, _) in sorted(series.items()):
            statuses.append(
                ThresholdStatus(
                    threshold.metric,
                    dict(labels),
                    value,
                    format_value(value, threshold.compiled.unit),
                    threshold.color(value),
                )
            )
    return statuses


def statuses_now(session: Session, settings: OpsbookConfig, now: datetime) -> list[ThresholdStatus]:
    """Every configured threshold row's color per series at `now` (the dashboard's view)."""
    from opsbook.alerts.source import snapshot

    rows = [compile_threshold(t.metric, t.green, t.yellow, t.red) for t in settings.thresholds]
    lookback = settings.alerting.lookback
    source = snapshot(session, threshold_windows(rows), now, lookback)
    return evaluate_thresholds(rows, source, now.timestamp(), lookback)
