"""The syntax tree of a condition. Every node keeps its offset in the text for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsbook.alerts.language.units import Quantity, Unit

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
SET_OPERATORS = ("and", "or", "unless")
ARITHMETIC = ("+", "-", "*", "/", "%", "^")


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label matcher: `status="500"`, `status!="200"`, `status=~"5.."`, `path!~"/health.*"`."""

    name: str
    op: str  # =, !=, =~, !~
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


@dataclass(frozen=True, slots=True)
class Number:
    value: float | Quantity
    pos: int = 0


@dataclass(frozen=True, slots=True)
class String:
    value: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Selector:
    """`name{matchers}` or, with `range_seconds`, `name{matchers}[5m]`."""

    name: str
    matchers: tuple[Matcher, ...] = ()
    range_seconds: float | None = None
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Node, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`sum by (le) (expr)`; `param` is the φ of `quantile(0.95, expr)`."""

    op: str
    expr: Node
    param: Node | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Matching:
    """`on(a, b)` or `ignoring(a, b)` after a binary operator."""

    labels: tuple[str, ...]
    on: bool


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node
    matching: Matching | None = None
    bool_result: bool = False  # `> bool`: 1/0 instead of filtering
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Negate:
    expr: Node
    pos: int = 0


# Nodes only the checker makes: a named metric expanded, a label filter on it, a unit change.
@dataclass(frozen=True, slots=True)
class Named:
    name: str
    expr: Node
    unit: Unit | None
    scale: float = 1.0  # multiply the definition's value by this to get `unit`
    pos: int = 0
    prometheus: bool = False  # its definition pairs series by all labels, as PromQL does


@dataclass(frozen=True, slots=True)
class Filter:
    expr: Node
    matchers: tuple[Matcher, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Scale:
    expr: Node
    factor: float
    pos: int = 0


Node = Number | String | Selector | Call | Aggregate | Binary | Negate | Named | Filter | Scale
