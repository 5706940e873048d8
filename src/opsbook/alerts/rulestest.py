"""`opsbook rules test`: unit tests for alert rules against given series, as `promtool test
rules` does, evaluated with the same language and lifecycle as the live worker.

The file format is documented in docs/alerts.md (`opsbook rules test`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.alerts.language import ConditionError, ast, compile_condition, evaluate
from opsbook.alerts.language.parser import parse
from opsbook.alerts.language.series import Labels, MemorySource, labels_of
from opsbook.alerts.lifecycle import AlertState, State, step
from opsbook.alerts.named import default_catalog
from opsbook.alerts.rules import Rule, fingerprint, load_rules
from opsbook.alerts.templates import Context, render
from opsbook.config import config_from_data, load_config
from opsbook.config.yamlsrc import Locations, read_yaml
from opsbook.errors import ConfigError, SourceRef
from opsbook.units import parse_duration

_UNSIGNED = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPANDING = re.compile(rf"^([-+]?{_UNSIGNED}|_)(?:([+-])({_UNSIGNED}))?x(\d+)$")


@dataclass
class TestResult:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def run_file(path: Path) -> list[TestResult]:
    """Run every test of one test file; raises ConfigError (with file:line) for a bad file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read test file: {exc.strerror}", source=SourceRef(str(path))
        ) from None
    doc = read_yaml(text, str(path), {})
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise ConfigError(
            "a rules test file needs a list of `tests:`", source=SourceRef(str(path), 1)
        )
    rules = _rules(path, data)
    interval = _duration(
        data.get("evaluation_interval", "1m"), doc.locations, ("evaluation_interval",)
    )
    return [
        _run_test(path, index, test, rules, interval=interval, locations=doc.locations)
        for index, test in enumerate(data["tests"])
    ]


def _rules(path: Path, data: Mapping[str, Any]) -> list[Rule]:
    rules: list[Rule] = []
    if data.get("config"):
        rules += load_rules(load_config(path.parent / str(data["config"]), env={}))
    if data.get("rule_files"):
        files = [str(f) for f in data["rule_files"]]
        rules += load_rules(config_from_data({"rule_files": files}, base_dir=path.parent))
    if not rules:
        raise ConfigError(
            "name the rules to test: `rule_files:` and/or `config:`", source=SourceRef(str(path), 1)
        )
    return rules


def _duration(value: Any, locations: Locations, where: tuple[str | int, ...]) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(str(exc), source=locations.ref(where)) from None


def _run_test(
    path: Path,
    index: int,
    test: Any,
    rules: list[Rule],
    *,
    interval: float,
    locations: Locations,
) -> TestResult:
    where: tuple[str | int, ...] = ("tests", index)
    if not isinstance(test, dict):
        raise ConfigError("a test is a mapping", source=locations.ref(where))
    result = TestResult(str(path), str(test.get("name", f"test {index + 1}")))
    step_seconds = _duration(test.get("interval", interval), locations, (*where, "interval"))
    source = _input(test.get("input_series") or [], step_seconds, locations, where)
    checks = _alert_checks(test, locations, where)
    last = max([t for t, _, _ in checks] + [0.0])
    states = _Lifecycle(rules, source)
    moment = 0.0
    while moment <= last + 1e-9:
        states.evaluate(moment)
        for at, name, expected in checks:
            if abs(at - moment) < 1e-9:
                _compare(result, name, at, expected, states.firing(name))
        moment += interval
    for at, name, _ in checks:
        if (at / interval) % 1 > 1e-9:
            result.failures.append(
                f"eval_time {at:g}s of {name} is not a multiple of evaluation_interval"
            )
    for number, expr_test in enumerate(test.get("expr_test") or test.get("promql_expr_test") or []):
        _expr_test(result, expr_test, source, locations, (*where, "expr_test", number))
    return result


def _input(
    series: list[Any], step: float, locations: Locations, where: tuple[str | int, ...]
) -> MemorySource:
    source = MemorySource()
    for number, item in enumerate(series):
        place = (*where, "input_series", number)
        if not isinstance(item, dict) or "series" not in item or "values" not in item:
            raise ConfigError(
                "an input series needs `series` and `values`", source=locations.ref(place)
            )
        try:
            name, labels = _selector(str(item["series"]))
        except (ValueError, ConditionError) as exc:
            message = exc.message if isinstance(exc, ConditionError) else str(exc)
            raise ConfigError(
                f"input series: {message}", source=locations.ref((*place, "series"))
            ) from None
        try:
            values = _expand(str(item["values"]))
        except ValueError as exc:
            raise ConfigError(
                f"input series values: {exc}", source=locations.ref((*place, "values"))
            ) from None
        for position, value in enumerate(values):
            if value is not None:
                source.add(name, labels, position * step, value)
    return source


def _selector(text: str) -> tuple[str, dict[str, str]]:
    node = parse(text)
    if not isinstance(node, ast.Selector) or node.range_seconds is not None:
        raise ValueError(f'{text!r} is not a series such as name{{label="value"}}')
    if any(m.op != "=" for m in node.matchers):
        raise ValueError(f"{text!r}: a series names its labels with =")
    return node.name, {m.name: m.value for m in node.matchers}


def _expand(text: str) -> list[float | None]:
    """`1 2 3`, `0+10x5`, `5x3`, `_x2`, `stale`: the values promtool's notation means."""
    values: list[float | None] = []
    for token in text.split():
        if token in ("_", "stale"):
            values.append(None)
            continue
        match = _EXPANDING.match(token)
        if not match:
            try:
                values.append(float(token))
            except ValueError:
                raise ValueError(
                    f"not a value: {token!r} (numbers, a+bxn, axn, _ or stale)"
                ) from None
            continue
        start, sign, delta, count = match[1], match[2], match[3], int(match[4])
        if start == "_":
            values.extend([None] * count)
            continue
        step = float(delta or 0) * (-1 if sign == "-" else 1)
        values.extend(float(start) + step * i for i in range(count + 1))
    return values


def _alert_checks(
    test: Mapping[str, Any], locations: Locations, where: tuple[str | int, ...]
) -> list[tuple[float, str, list[tuple[dict[str, str], dict[str, str]]]]]:
    checks = []
    for number, item in enumerate(test.get("alert_rule_test") or []):
        place = (*where, "alert_rule_test", number)
        at = _duration(item.get("eval_time", 0), locations, (*place, "eval_time"))
        expected = [
            (
                {str(k): str(v) for k, v in (alert.get("exp_labels") or {}).items()},
                {str(k): str(v) for k, v in (alert.get("exp_annotations") or {}).items()},
            )
            for alert in item.get("exp_alerts") or []
        ]
        checks.append((at, str(item.get("alertname", "")), expected))
    return checks


class _Lifecycle:
    """The live worker's lifecycle, in memory, for every rule and series."""

    def __init__(self, rules: list[Rule], source: MemorySource) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self.source = source
        self.alerts: dict[tuple[str, str], tuple[dict[str, str], AlertState]] = {}

    def evaluate(self, moment: float) -> None:
        now = datetime.fromtimestamp(moment, UTC)
        shared: dict[str, Any] = {}
        for rule in self.rules.values():
            outcome = evaluate(
                rule.compiled.node,
                self.source,
                moment,
                prometheus_matching=rule.compiled.prometheus_matching,
                shared=shared,
            )
            seen: set[str] = set()
            for series, (value, matched) in outcome.series.items():
                labels = rule.alert_labels(dict(series))
                key = fingerprint(labels)
                seen.add(key)
                self.advance(rule, key, labels=labels, matched=matched, value=value, now=now)
            for (name, key), (labels, _) in list(self.alerts.items()):
                if name == rule.name and key not in seen:
                    self.advance(rule, key, labels=labels, matched=False, value=None, now=now)

    def advance(
        self,
        rule: Rule,
        key: str,
        *,
        labels: dict[str, str],
        matched: bool,
        value: float | None,
        now: datetime,
    ) -> None:
        current = self.alerts.get((rule.name, key))
        state = current[1] if current else None
        new, _ = step(
            state,
            matched=matched,
            value=value,
            now=now,
            hold=rule.hold,
            keep_firing_for=rule.keep_firing_for,
        )
        if new is None or new.state is State.RESOLVED:
            self.alerts.pop((rule.name, key), None)
        else:
            self.alerts[(rule.name, key)] = (labels, new)

    def firing(self, name: str) -> list[tuple[dict[str, str], dict[str, str]]]:
        rule = self.rules.get(name)
        if rule is None:
            return []
        found = []
        for (rule_name, _), (labels, state) in sorted(self.alerts.items()):
            if rule_name == name and state.state is State.FIRING:
                context = Context(state.value, rule.compiled.unit, labels)
                shown = {k: v for k, v in labels.items() if k != "alertname"}
                annotations = {k: render(v, context) for k, v in rule.annotations.items()}
                found.append((shown, annotations))
        return found


def _compare(result: TestResult, name: str, at: float, expected: list[Any], got: list[Any]) -> None:
    def key(alert: tuple[dict[str, str], dict[str, str]]) -> str:
        return repr(sorted(alert[0].items())) + repr(sorted(alert[1].items()))

    if sorted(map(key, expected)) == sorted(map(key, got)):
        return
    result.failures.append(
        f"alertname: {name}, time: {at:g}s\n    exp: {_show(expected)}\n    got: {_show(got)}"
    )


def _show(alerts: list[tuple[dict[str, str], dict[str, str]]]) -> str:
    if not alerts:
        return "(none firing)"
    return "; ".join(f"labels={labels} annotations={notes}" for labels, notes in alerts)


def _expr_test(
    result: TestResult,
    test: Mapping[str, Any],
    source: MemorySource,
    locations: Locations,
    where: tuple[str | int, ...],
) -> None:
    expr = str(test.get("expr", ""))
    try:
        compiled = compile_condition(expr, default_catalog(), "prometheus")
    except ConditionError as exc:
        raise ConfigError(f"expr: {exc}", source=locations.ref((*where, "expr"))) from None
    at = _duration(test.get("eval_time", 0), locations, (*where, "eval_time"))
    outcome = evaluate(compiled.node, source, at, prometheus_matching=True)
    got = {labels: value for labels, (value, ok) in outcome.series.items() if ok}
    expected: dict[Labels, float] = {}
    for sample in test.get("exp_samples") or []:
        text = str(sample.get("labels", "{}"))
        _, labels = _selector(text if not text.startswith("{") else "x" + text)
        expected[labels_of(labels)] = float(sample.get("value", 0))
    if set(got) != set(expected) or any(not _close(got[k], v) for k, v in expected.items()):
        result.failures.append(
            f"expr: {expr}, time: {at:g}s\n    exp: {_samples(expected)}\n    got: {_samples(got)}"
        )


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)


def _samples(samples: Mapping[Labels, float]) -> str:
    return "; ".join(f"{dict(k)} {v:g}" for k, v in sorted(samples.items())) or "(none)"
