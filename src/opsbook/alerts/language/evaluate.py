"""Evaluating a checked condition over a `SeriesSource` at one instant.

Values are scalars (float), instant vectors (labels -> (value, ok)) or range vectors (labels ->
points). A comparison does not drop the elements it rejects as PromQL does; it marks them not ok
and keeps their value, so a rule can report the value it saw when it did *not* match (the value
that resolved an alert). Only ok elements take part in aggregations, and only ok elements match
at the end. Apart from that, results are PromQL's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opsbook.alerts.language import ast
from opsbook.alerts.language import functions as fn
from opsbook.alerts.language.errors import ConditionError
from opsbook.alerts.language.series import Labels, Points, SeriesSource

LOOKBACK_SECONDS = 300.0  # how far back an instant selector looks for the latest sample

Vector = dict[Labels, tuple[float, bool]]
Matrix = dict[Labels, Points]
Value = float | str | Vector | Matrix


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a condition saw: every series with its value, and whether it matched."""

    series: Mapping[Labels, tuple[float, bool]]

    @property
    def matching(self) -> dict[Labels, float]:
        return {labels: value for labels, (value, ok) in self.series.items() if ok}


class EvaluationError(ConditionError):
    """A condition that parsed but cannot be evaluated on this data (many-to-many matching)."""


def evaluate(
    node: ast.Node,
    source: SeriesSource,
    at: float,
    *,
    prometheus_matching: bool = False,
    lookback: float = LOOKBACK_SECONDS,
    shared: dict[str, Any] | None = None,
) -> Outcome:
    """Evaluate `node` (from `compile_condition`) at `at` (seconds since the epoch).

    `shared` keeps the values of named metrics between rules evaluated over the same source at
    the same instant, so `error_rate` is computed once per cycle, not once per rule.
    """
    evaluator = _Evaluator(source, at, prometheus_matching, lookback)
    evaluator.shared = shared if shared is not None else {}
    value = evaluator.eval(node)
    if isinstance(value, float):
        return Outcome({(): (value, True)})
    if isinstance(value, dict):
        return Outcome({labels: v for labels, v in value.items() if isinstance(v, tuple)})
    return Outcome({})


class _Evaluator:
    def __init__(self, source: SeriesSource, at: float, prom: bool, lookback: float) -> None:
        self.source, self.at, self.prom, self.lookback = source, at, prom, lookback
        self.shared: dict[str, Any] = {}

    def eval(self, node: ast.Node) -> Value:  # noqa: PLR0911 - one branch per node type
        if isinstance(node, ast.Number):
            assert isinstance(node.value, float | int)
            return float(node.value)
        if isinstance(node, ast.String):
            return node.value
        if isinstance(node, ast.Selector):
            return self.selector(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Aggregate):
            return self.aggregate(node)
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Negate):
            return _map(self.eval(node.expr), lambda v: -v)
        if isinstance(node, ast.Named):
            return self.named(node)
        if isinstance(node, ast.Scale):
            return _map(self.eval(node.expr), lambda v: v * node.factor)
        return self.filter(node)

    def named(self, node: ast.Named) -> Value:
        # A definition pairs series by its own dialect's rule, whatever the rule using it says.
        key = f"{node.name}*{node.scale}"
        if key not in self.shared:
            prom, self.prom = self.prom, node.prometheus
            try:
                inner = self.eval(node.expr)
            finally:
                self.prom = prom
            self.shared[key] = inner if node.scale == 1.0 else _map(inner, lambda v: v * node.scale)
        value: Value = self.shared[key]
        return value

    # -- selectors ---------------------------------------------------------------------------
    def selector(self, node: ast.Selector) -> Vector | Matrix:
        if node.range_seconds is not None:
            return dict(
                self.source.select(node.name, node.matchers, self.at - node.range_seconds, self.at)
            )
        found = self.source.select(node.name, node.matchers, self.at - self.lookback, self.at)
        return {labels: (points[-1][1], True) for labels, points in found.items() if points}

    def filter(self, node: ast.Filter) -> Vector:
        inner = self.vector(node.expr)
        candidates: Iterable[Labels] = inner.keys()
        equal = next((m for m in node.matchers if m.op == "=" and m.value), None)
        if equal is not None and isinstance(node.expr, ast.Named):
            candidates = self.label_index(node.expr, inner).get((equal.name, equal.value), ())
        return {
            labels: inner[labels]
            for labels in candidates
            if all(m.matches(dict(labels)) for m in node.matchers)
        }

    def label_index(self, node: ast.Named, vector: Vector) -> dict[tuple[str, str], list[Labels]]:
        """Series of a named metric by each label pair, built once per cycle."""
        key = f"{node.name}*{node.scale}#index"
        index: dict[tuple[str, str], list[Labels]] | None = self.shared.get(key)
        if index is None:
            built: dict[tuple[str, str], list[Labels]] = defaultdict(list)
            for labels in vector:
                for pair in labels:
                    built[pair].append(labels)
            self.shared[key] = index = dict(built)
        return index

    def vector(self, node: ast.Node) -> Vector:
        value = self.eval(node)
        assert isinstance(value, dict)
        return value  # type: ignore[return-value]

    def matrix(self, node: ast.Node) -> Matrix:
        value = self.eval(node)
        assert isinstance(value, dict)
        return value  # type: ignore[return-value]

    def scalar(self, node: ast.Node) -> float:
        value = self.eval(node)
        assert isinstance(value, float)
        return value

    # -- functions ---------------------------------------------------------------------------
    def call(self, node: ast.Call) -> Value:  # noqa: PLR0911 - one branch per function family
        name, args = node.func, node.args
        if name in ("rate", "increase", "delta"):
            return self.rate(args[0], name)
        if name in ("irate", "idelta"):
            return _over_points(
                self.matrix(args[0]), lambda p: fn.instant_rate(p, counter=name == "irate")
            )
        if name in fn.OVER_TIME:
            summary = fn.OVER_TIME[name]
            return _over_points(self.matrix(args[0]), lambda p: summary([v for _, v in p]))
        if name == "quantile_over_time":
            phi = self.scalar(args[0])
            return _over_points(self.matrix(args[1]), lambda p: fn.quantile(phi, [v for _, v in p]))
        if name == "histogram_quantile":
            return self.histogram_quantile(self.scalar(args[0]), self.vector(args[1]))
        if name in fn.ELEMENTWISE:
            return _map(self.vector(args[0]), fn.ELEMENTWISE[name])
        if name in ("clamp_min", "clamp_max"):
            bound = self.scalar(args[1])
            pick = max if name == "clamp_min" else min
            return _map(self.vector(args[0]), lambda v: pick(v, bound))
        if name in ("absent", "absent_over_time"):
            return self.absent(args[0])
        if name == "time":
            return self.at
        if name == "scalar":
            vector = self.vector(args[0])
            return next(iter(vector.values()))[0] if len(vector) == 1 else math.nan
        if name == "vector":
            single: Vector = {(): (self.scalar(args[0]), True)}
            return single
        raise AssertionError(f"unchecked function {name}")

    def rate(self, arg: ast.Node, name: str) -> Vector:
        assert isinstance(arg, ast.Selector) and arg.range_seconds is not None
        start = self.at - arg.range_seconds
        return _over_points(
            self.matrix(arg),
            lambda p: fn.extrapolated_rate(
                p, start, self.at, counter=name != "delta", per_second=name == "rate"
            ),
        )

    def histogram_quantile(self, phi: float, vector: Vector) -> Vector:
        groups: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
        for labels, (value, ok) in vector.items():
            bound = dict(labels).get("le")
            if not ok or bound is None:
                continue
            try:
                upper = float(bound)
            except ValueError:
                continue
            groups[tuple(p for p in labels if p[0] != "le")].append((upper, value))
        return {labels: (fn.bucket_quantile(phi, b), True) for labels, b in groups.items()}

    def absent(self, arg: ast.Node) -> Vector:
        present = self.eval(arg)
        assert isinstance(present, dict)
        if any(not isinstance(v, tuple) or v[1] for v in present.values()):
            return {}
        selector = arg if isinstance(arg, ast.Selector) else None
        matchers = selector.matchers if selector else ()
        labels = tuple(sorted((m.name, m.value) for m in matchers if m.op == "="))
        return {labels: (1.0, True)}

    # -- aggregation ---------------------------------------------------------------------------
    def aggregate(self, node: ast.Aggregate) -> Vector:
        vector = self.vector(node.expr)
        groups: dict[Labels, list[float]] = defaultdict(list)
        for labels, (value, ok) in vector.items():
            if ok:
                groups[_group_key(labels, node.grouping, node.without)].append(value)
        if node.op == "quantile":
            assert node.param is not None
            phi = self.scalar(node.param)
            return {k: (fn.quantile(phi, values), True) for k, values in groups.items()}
        summary = fn.AGGREGATE[node.op]
        return {k: (summary(values), True) for k, values in groups.items()}

    # -- binary operators ----------------------------------------------------------------------
    def binary(self, node: ast.Binary) -> Value:
        left, right = self.eval(node.left), self.eval(node.right)
        if node.op in ast.SET_OPERATORS:
            assert isinstance(left, dict) and isinstance(right, dict)
            return self.set_operation(node, left, right)  # type: ignore[arg-type]
        if isinstance(left, float) and isinstance(right, float):
            if node.op in ast.COMPARISONS:
                return 1.0 if fn.compare(node.op, left, right) else 0.0
            return fn.arithmetic(node.op, left, right)
        if isinstance(left, float) or isinstance(right, float):
            return _with_scalar(node, left, right)  # type: ignore[arg-type]
        return self.vector_pair(node, left, right)  # type: ignore[arg-type]

    def key_function(
        self, node: ast.Binary, left: Vector, right: Vector
    ) -> Callable[[Labels], Labels]:
        matching = node.matching
        if matching is not None:
            names = set(matching.labels)
            if matching.on:
                return lambda labels: tuple(p for p in labels if p[0] in names)
            return lambda labels: tuple(p for p in labels if p[0] not in names)
        if self.prom:
            return lambda labels: labels
        common = _common_names(left) & _common_names(right)
        return lambda labels: tuple(p for p in labels if p[0] in common)

    def vector_pair(self, node: ast.Binary, left: Vector, right: Vector) -> Vector:
        key = self.key_function(node, left, right)
        by_key: dict[Labels, tuple[float, bool]] = {}
        for labels, point in right.items():
            k = key(labels)
            if k in by_key:
                raise EvaluationError(
                    f"many-to-many matching for {node.op}: several series on the right share "
                    f"the labels {dict(k)}; aggregate them or add on(...)/ignoring(...)"
                )
            by_key[k] = point
        out: Vector = {}
        comparison = node.op in ast.COMPARISONS
        for labels, (lvalue, lok) in left.items():
            partner = by_key.get(key(labels))
            if partner is None:
                if comparison and not node.bool_result:
                    out[labels] = (lvalue, False)
                continue
            rvalue, rok = partner
            if comparison:
                passed = fn.compare(node.op, lvalue, rvalue)
                if node.bool_result:
                    out[key(labels)] = (1.0 if passed else 0.0, lok and rok)
                else:
                    out[labels] = (lvalue, lok and rok and passed)
            else:
                out[key(labels)] = (fn.arithmetic(node.op, lvalue, rvalue), lok and rok)
        return out

    def set_operation(self, node: ast.Binary, left: Vector, right: Vector) -> Vector:
        key = self.key_function(node, left, right)
        right_ok = {key(labels) for labels, (_, ok) in right.items() if ok}
        if node.op == "and":
            return {lb: (v, ok and key(lb) in right_ok) for lb, (v, ok) in left.items()}
        if node.op == "unless":
            return {lb: (v, ok and key(lb) not in right_ok) for lb, (v, ok) in left.items()}
        out = dict(left)
        left_ok = {key(labels) for labels, (_, ok) in left.items() if ok}
        for labels, (value, ok) in right.items():
            if key(labels) in left_ok:
                continue
            if labels not in out or (ok and not out[labels][1]):
                out[labels] = (value, ok)
        return out


def _map(value: Value, func: Callable[[float], float]) -> Value:
    if isinstance(value, float):
        return func(value)
    assert isinstance(value, dict)
    vector: Vector = value  # type: ignore[assignment]
    mapped: Vector = {labels: (func(v), ok) for labels, (v, ok) in vector.items()}
    return mapped


def _over_points(matrix: Matrix, func: Callable[[Points], float | None]) -> Vector:
    out: Vector = {}
    for labels, points in matrix.items():
        if points:
            result = func(points)
            if result is not None:
                out[labels] = (result, True)
    return out


def _with_scalar(node: ast.Binary, left: Vector | float, right: Vector | float) -> Vector:
    scalar_left = isinstance(left, float)
    vector: Vector = right if scalar_left else left  # type: ignore[assignment]
    scalar: float = left if scalar_left else right  # type: ignore[assignment]
    out: Vector = {}
    for labels, (value, ok) in vector.items():
        lvalue, rvalue = (scalar, value) if scalar_left else (value, scalar)
        if node.op in ast.COMPARISONS:
            passed = fn.compare(node.op, lvalue, rvalue)
            if node.bool_result:
                out[labels] = (1.0 if passed else 0.0, ok)
            else:
                out[labels] = (value, ok and passed)
        else:
            out[labels] = (fn.arithmetic(node.op, lvalue, rvalue), ok)
    return out


def _group_key(labels: Labels, grouping: tuple[str, ...], without: bool) -> Labels:
    if without:
        return tuple(p for p in labels if p[0] not in grouping)
    return tuple(p for p in labels if p[0] in grouping)


def _common_names(vector: Vector) -> set[str]:
    names: set[str] | None = None
    for labels in vector:
        present = {name for name, _ in labels}
        names = present if names is None else names & present
    return names or set()
