"""Checking a parsed condition: names resolved, functions and arguments validated, units reconciled.

`compile_condition` is the only way from text to something `evaluate` runs. It expands named
metrics (`error_rate`) into their definitions, refuses a metric opsbook does not know (in the
opsbook dialect), converts literals with units into the unit of what they are compared with, and
refuses comparisons across dimensions (a duration with a size).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

from opsbook.alerts.language import ast
from opsbook.alerts.language.errors import ConditionError
from opsbook.alerts.language.names import OPSBOOK, PROMETHEUS, Catalog, NamedMetric
from opsbook.alerts.language.parser import parse
from opsbook.alerts.language.units import (
    FRACTION,
    Quantity,
    Unit,
    describe,
    unit_from_name,
)

SCALAR, VECTOR, RANGE, STRING = "scalar", "instant vector", "range vector", "string"
__all__ = ["OPSBOOK", "PROMETHEUS", "Catalog", "Compiled", "NamedMetric", "compile_condition"]


@dataclass(frozen=True, slots=True)
class _Typed:
    node: ast.Node
    kind: str
    unit: Unit | None = None


@dataclass(frozen=True)
class Compiled:
    """A checked condition, ready for `evaluate`."""

    text: str
    node: ast.Node
    kind: str
    unit: Unit | None
    dialect: str
    windows: dict[str, float] = field(default_factory=dict)  # metric -> longest window read

    @property
    def prometheus_matching(self) -> bool:
        return self.dialect == PROMETHEUS


# name -> (argument kinds, result kind); a unit rule below.
_FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "rate": ((RANGE,), VECTOR),
    "irate": ((RANGE,), VECTOR),
    "increase": ((RANGE,), VECTOR),
    "delta": ((RANGE,), VECTOR),
    "idelta": ((RANGE,), VECTOR),
    "avg_over_time": ((RANGE,), VECTOR),
    "min_over_time": ((RANGE,), VECTOR),
    "max_over_time": ((RANGE,), VECTOR),
    "sum_over_time": ((RANGE,), VECTOR),
    "count_over_time": ((RANGE,), VECTOR),
    "last_over_time": ((RANGE,), VECTOR),
    "stddev_over_time": ((RANGE,), VECTOR),
    "stdvar_over_time": ((RANGE,), VECTOR),
    "present_over_time": ((RANGE,), VECTOR),
    "quantile_over_time": ((SCALAR, RANGE), VECTOR),
    "histogram_quantile": ((SCALAR, VECTOR), VECTOR),
    "abs": ((VECTOR,), VECTOR),
    "ceil": ((VECTOR,), VECTOR),
    "floor": ((VECTOR,), VECTOR),
    "round": ((VECTOR,), VECTOR),
    "sqrt": ((VECTOR,), VECTOR),
    "exp": ((VECTOR,), VECTOR),
    "ln": ((VECTOR,), VECTOR),
    "clamp_min": ((VECTOR, SCALAR), VECTOR),
    "clamp_max": ((VECTOR, SCALAR), VECTOR),
    "absent": ((VECTOR,), VECTOR),
    "absent_over_time": ((RANGE,), VECTOR),
    "time": ((), SCALAR),
    "scalar": ((VECTOR,), SCALAR),
    "vector": ((SCALAR,), VECTOR),
}
_UNITLESS = {"count_over_time", "present_over_time", "absent", "absent_over_time", "rate", "irate"}
_UNITLESS |= {"ln", "exp", "sqrt", "vector", "stdvar_over_time"}


def compile_condition(
    text: str, catalog: Catalog, dialect: str = OPSBOOK, *, require_test: bool = True
) -> Compiled:
    """Parse and check `text`. Raises ConditionError with the offset of the problem.

    In the opsbook dialect every metric must be known and, with `require_test`, the condition
    must compare something; the prometheus dialect reads any recorded series.
    """
    checker = _Checker(text, catalog, dialect, ())
    typed = checker.check(parse(text))
    if typed.kind in (RANGE, STRING):
        raise ConditionError(
            f"a condition must give numbers, not {_article(typed.kind)}"
            + (" (wrap it in rate(...) or avg(...))" if typed.kind == RANGE else ""),
            text,
            _position(typed.node),
        )
    node = _resolve_literal(typed, None).node
    if dialect == OPSBOOK and require_test and not _is_test(node):
        raise ConditionError(
            "a condition must test something, e.g. `error_rate > 5%`; this one would fire "
            "whenever the metric has data",
            text,
            0,
        )
    return Compiled(text, node, typed.kind, typed.unit, dialect, checker.windows)


def _is_test(node: ast.Node) -> bool:
    if isinstance(node, ast.Binary):
        return node.op in ast.COMPARISONS or node.op in ast.SET_OPERATORS
    return isinstance(node, ast.Call) and node.func in ("absent", "absent_over_time")


def _position(node: ast.Node) -> int:
    return getattr(node, "pos", 0)


class _Checker:
    def __init__(
        self, text: str, catalog: Catalog, dialect: str, expanding: tuple[str, ...]
    ) -> None:
        self.text, self.catalog, self.dialect, self.expanding = text, catalog, dialect, expanding
        self.windows: dict[str, float] = {}

    def fail(self, message: str, node: ast.Node | int) -> ConditionError:
        pos = node if isinstance(node, int) else _position(node)
        return ConditionError(message, self.text, pos)

    def check(self, node: ast.Node) -> _Typed:  # noqa: PLR0911 - one branch per node type
        if isinstance(node, ast.Number):
            return _Typed(node, SCALAR)
        if isinstance(node, ast.String):
            return _Typed(node, STRING)
        if isinstance(node, ast.Selector):
            return self.selector(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Aggregate):
            return self.aggregate(node)
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Negate):
            if isinstance(node.expr, ast.Number):
                value = node.expr.value
                negated = (
                    Quantity(-value.base_value, value.dimension)
                    if isinstance(value, Quantity)
                    else -value
                )
                return _Typed(ast.Number(negated, node.pos), SCALAR)
            inner = self.check(node.expr)
            self.require(inner, (SCALAR, VECTOR), "-")
            return _Typed(replace(node, expr=inner.node), inner.kind, inner.unit)
        raise AssertionError(f"the parser does not make {type(node).__name__}")

    def require(self, typed: _Typed, kinds: tuple[str, ...], where: str) -> None:
        if typed.kind not in kinds:
            wanted = " or ".join(_article(k) for k in kinds)
            raise self.fail(f"{where} needs {wanted}, not {_article(typed.kind)}", typed.node)

    # -- names -----------------------------------------------------------------------------
    def selector(self, node: ast.Selector) -> _Typed:
        named = self.catalog.named(node.name)
        if named is not None:
            return self.named(node, named)
        if self.dialect == OPSBOOK and not self.catalog.known(node.name):
            raise self.fail(self.unknown_metric(node.name), node)
        window = node.range_seconds or 0.0
        self.windows[node.name] = max(self.windows.get(node.name, 0.0), window)
        kind = RANGE if node.range_seconds is not None else VECTOR
        return _Typed(node, kind, unit_from_name(node.name))

    def unknown_metric(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.catalog.names(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return (
            f"unknown metric {name!r}{hint}: use a named metric or a metric opsbook records "
            "(docs/alerts.md lists both), or write the rule as a Prometheus `expr`"
        )

    def named(self, node: ast.Selector, named: NamedMetric) -> _Typed:
        if node.range_seconds is not None:
            raise self.fail(
                f"{node.name} is a named metric, computed at each instant; a window [..] "
                "applies only to a recorded metric (see its definition in docs/alerts.md)",
                node,
            )
        if named.name in self.expanding:
            raise self.fail(f"named metric {named.name} refers to itself", node)
        inner = _Checker(named.expr, self.catalog, named.dialect, (*self.expanding, named.name))
        try:
            typed = inner.check(parse(named.expr))
        except ConditionError as exc:  # a broken built-in definition is a bug, say where
            raise self.fail(f"in the definition of {named.name}: {exc}", node) from None
        for metric, window in inner.windows.items():
            self.windows[metric] = max(self.windows.get(metric, 0.0), window)
        body: ast.Node = ast.Named(
            named.name,
            _resolve_literal(typed, None).node,
            named.unit,
            named.scale,
            node.pos,
            prometheus=named.dialect == PROMETHEUS,
        )
        if node.matchers:
            body = ast.Filter(body, node.matchers, node.pos)
        return _Typed(body, VECTOR, named.unit)

    # -- functions ---------------------------------------------------------------------------
    def call(self, node: ast.Call) -> _Typed:
        spec = _FUNCTIONS.get(node.func)
        if spec is None:
            close = difflib.get_close_matches(node.func, list(_FUNCTIONS), n=2)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise self.fail(f"unknown function {node.func}(){hint}", node)
        kinds, result = spec
        if len(node.args) != len(kinds):
            raise self.fail(
                f"{node.func}() takes {len(kinds)} argument{'s' if len(kinds) != 1 else ''}, "
                f"got {len(node.args)}",
                node,
            )
        typed = [self.check(arg) for arg in node.args]
        for arg, kind in zip(typed, kinds, strict=True):
            self.require(arg, (kind,), f"{node.func}()")
        if node.func in ("rate", "irate", "increase", "delta", "idelta") and not isinstance(
            node.args[0], ast.Selector
        ):
            raise self.fail(f"{node.func}() needs a recorded metric with a window", node)
        args = tuple(_resolve_literal(t, None).node for t in typed)
        return _Typed(replace(node, args=args), result, self.call_unit(node.func, typed))

    def call_unit(self, func: str, args: list[_Typed]) -> Unit | None:
        if func in _UNITLESS:
            return None
        if func == "histogram_quantile":
            return _bucket_unit(args[1].node)
        if func == "quantile_over_time":
            return args[1].unit
        if func == "time":
            return unit_from_name("time_seconds")
        return args[0].unit if args else None

    def aggregate(self, node: ast.Aggregate) -> _Typed:
        inner = self.check(node.expr)
        self.require(inner, (VECTOR,), f"{node.op}()")
        param = None
        if node.param is not None:
            typed_param = self.check(node.param)
            self.require(typed_param, (SCALAR,), f"the first argument of {node.op}()")
            param = _resolve_literal(typed_param, None).node
        unit = None if node.op in ("count", "group", "stdvar") else inner.unit
        return _Typed(replace(node, expr=inner.node, param=param), VECTOR, unit)

    # -- binary operators ----------------------------------------------------------------------
    def binary(self, node: ast.Binary) -> _Typed:
        left, right = self.check(node.left), self.check(node.right)
        self.require(left, (SCALAR, VECTOR), f"the left side of {node.op}")
        self.require(right, (SCALAR, VECTOR), f"the right side of {node.op}")
        if node.op in ast.SET_OPERATORS:
            if left.kind != VECTOR or right.kind != VECTOR:
                raise self.fail(f"both sides of {node.op} must be metrics, not numbers", node)
            return _Typed(replace(node, left=left.node, right=right.node), VECTOR, left.unit)
        comparison = node.op in ast.COMPARISONS
        if comparison and left.kind == SCALAR and right.kind == SCALAR and not node.bool_result:
            raise self.fail("comparing two numbers always gives the same answer", node)
        left, right = self.reconcile(node, left, right)
        kind = VECTOR if VECTOR in (left.kind, right.kind) else SCALAR
        return _Typed(
            replace(node, left=left.node, right=right.node), kind, _result_unit(node, left, right)
        )

    def reconcile(self, node: ast.Binary, left: _Typed, right: _Typed) -> tuple[_Typed, _Typed]:
        """Both sides in one unit: literals converted, a ms metric vs a s metric rescaled."""
        if _is_literal(right.node) or _is_literal(left.node):
            literal_right = _is_literal(right.node)
            literal, other = (right, left) if literal_right else (left, right)
            converted = self.convert_literal(node, literal, other)
            return (left, converted) if literal_right else (converted, right)
        if left.unit is None or right.unit is None or node.op not in ("+", "-", *ast.COMPARISONS):
            return left, right
        if left.unit.dimension != right.unit.dimension:
            raise self.fail(
                f"cannot use {node.op} between {describe(left.unit)} and {describe(right.unit)}",
                node,
            )
        if left.unit.scale != right.unit.scale:
            factor = right.unit.scale / left.unit.scale
            scaled = ast.Scale(right.node, factor, _position(right.node))
            right = _Typed(scaled, right.kind, left.unit)
        return left, right

    def convert_literal(self, node: ast.Binary, literal: _Typed, other: _Typed) -> _Typed:
        assert isinstance(literal.node, ast.Number)
        value = literal.node.value
        unit = other.unit
        if isinstance(value, Quantity):
            if unit is not None and node.op in ("+", "-", *ast.COMPARISONS):
                if value.dimension != unit.dimension:
                    raise self.fail(
                        f"cannot compare {describe(unit)} with {self.source_of(literal.node)} "
                        f"({value.dimension})",
                        literal.node,
                    )
                converted = unit.from_base(value.base_value)
                return _Typed(ast.Number(converted, _position(literal.node)), SCALAR)
            return _resolve_literal(literal, None)
        if unit == FRACTION and node.op in ast.COMPARISONS and not 0 <= value <= 1:
            raise self.fail(
                f"this metric is a fraction from 0 to 1, so {value:g} can never be crossed: "
                f"write {value:g}% or {value / 100:g}",
                literal.node,
            )
        return _Typed(ast.Number(float(value), _position(literal.node)), SCALAR)

    def source_of(self, node: ast.Node) -> str:
        pos = _position(node)
        end = pos
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in ".%"):
            end += 1
        return self.text[pos:end]


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _is_literal(node: ast.Node) -> bool:
    return isinstance(node, ast.Number)


def _resolve_literal(typed: _Typed, unit: Unit | None) -> _Typed:
    """A literal with a unit and nothing to compare with: its value in base units."""
    node = typed.node
    if isinstance(node, ast.Number) and isinstance(node.value, Quantity):
        base = node.value.base_value
        return _Typed(ast.Number(unit.from_base(base) if unit else base, node.pos), SCALAR)
    if isinstance(node, ast.Number):
        return _Typed(ast.Number(float(node.value), node.pos), SCALAR)  # type: ignore[arg-type]
    return typed


def _result_unit(node: ast.Binary, left: _Typed, right: _Typed) -> Unit | None:
    if node.op in ast.COMPARISONS:
        if node.bool_result:
            return None
        return right.unit if left.kind == SCALAR else left.unit
    if node.op in ("+", "-"):
        return left.unit or right.unit
    if node.op in ("*", "/") and (_is_literal(left.node) or _is_literal(right.node)):
        return right.unit if _is_literal(left.node) else left.unit
    if node.op == "/" and left.unit and right.unit and left.unit.dimension == right.unit.dimension:
        return FRACTION
    return None


def _bucket_unit(node: ast.Node) -> Unit | None:
    """The unit of histogram buckets named inside `node` (`x_seconds_bucket` -> seconds)."""
    if isinstance(node, ast.Selector):
        return unit_from_name(node.name)
    for child in _children(node):
        unit = _bucket_unit(child)
        if unit is not None:
            return unit
    return None


def _children(node: ast.Node) -> tuple[ast.Node, ...]:
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.Aggregate | ast.Negate | ast.Named | ast.Filter | ast.Scale):
        return (node.expr,)
    if isinstance(node, ast.Binary):
        return (node.left, node.right)
    return ()
