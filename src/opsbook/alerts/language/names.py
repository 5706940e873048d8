"""The names a condition may use: named metrics and the catalog that knows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from opsbook.alerts.language.units import Unit

OPSBOOK, PROMETHEUS = "opsbook", "prometheus"


@dataclass(frozen=True, slots=True)
class NamedMetric:
    """A metric defined in terms of recorded ones, e.g. `p95_latency` over check durations."""

    name: str
    expr: str  # the definition, in the condition language
    unit: Unit | None  # the unit people compare it in (thresholds without a unit mean this)
    description: str
    scale: float = 1.0  # definition value * scale = value in `unit` (seconds -> ms: 1000)
    aliases: tuple[str, ...] = ()  # how runbooks name it: "P95 Latency", "Error rate"
    dialect: str = OPSBOOK  # recording rules from Prometheus files are in the prometheus one


class Catalog(Protocol):
    """The names a condition may use."""

    def named(self, name: str) -> NamedMetric | None: ...

    def known(self, name: str) -> bool:
        """True when `name` is a metric family opsbook records."""
        ...

    def names(self) -> list[str]: ...
