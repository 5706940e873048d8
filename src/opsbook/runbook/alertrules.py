"""Alert rules written as YAML in a runbook, in the three dialects runbooks use.

    opsbook      alerts: [{name, condition, duration, severity, channels, message}]
    threshold    Alerts: [{name, threshold: error_rate > 5%, severity}]
    prometheus   [{alert, expr, for, labels, annotations}], or groups: [{rules: [...]}]

Each rule keeps its own source line. A rule that cannot be read (no name, no condition, a
duration that is not one) is left out with a warning naming its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from opsbook.runbook.model import AlertRule, ParseWarning
from opsbook.units import parse_duration

# libyaml's loader when PyYAML was built with it: the same nodes and marks, much faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class _Entry:
    data: dict[str, Any]
    line: int


def read_alert_rules(content: str, block_line: int) -> tuple[list[AlertRule], list[ParseWarning]]:
    """The rules in a YAML block whose opening fence is at `block_line`."""
    warnings: list[ParseWarning] = []
    try:
        loader = _Loader(content)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = block_line + 1 + (mark.line if mark is not None else 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [], [ParseWarning(line, f"alert rules are not valid YAML: {problem}", "yaml")]
    if node is None:
        return [], []
    rules: list[AlertRule] = []
    for entry in _entries(data, node, block_line):
        rule = _rule(entry, warnings)
        if rule is not None:
            rules.append(rule)
    return rules, warnings


def _entries(data: Any, node: yaml.Node, block_line: int) -> Iterator[_Entry]:
    """Every mapping in the rule lists of the document, with its line in the file."""
    for items, items_node in _rule_lists(data, node):
        for item, item_node in zip(items, items_node.value, strict=False):
            if isinstance(item, dict):
                yield _Entry(item, block_line + 1 + item_node.start_mark.line)


def _rule_lists(data: Any, node: yaml.Node) -> Iterator[tuple[list[Any], yaml.Node]]:
    if isinstance(data, list) and isinstance(node, yaml.SequenceNode):
        yield data, node
        return
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        key = str(key_node.value).lower()
        value = data.get(key_node.value)
        if key in {"alerts", "rules"}:
            yield from _rule_lists(value, value_node)
        elif key == "groups" and isinstance(value, list):
            for group, group_node in zip(value, value_node.value, strict=False):
                yield from _rule_lists(group, group_node)


def _rule(entry: _Entry, warnings: list[ParseWarning]) -> AlertRule | None:
    data = {str(k).lower(): v for k, v in entry.data.items()}
    if "record" in data and "alert" not in data:
        return None  # a Prometheus recording rule
    name = _text(data.get("alert") or data.get("name"))
    if not name:
        warnings.append(
            ParseWarning(entry.line, "alert rule without a name; skipped", "alert-rule")
        )
        return None
    dialect, condition, expr = _dialect(data)
    if not condition and not expr:
        warnings.append(
            ParseWarning(
                entry.line, f"alert rule {name!r} has no condition or expr; skipped", "alert-rule"
            )
        )
        return None
    labels = _strings(data.get("labels"))
    try:
        for_seconds = _seconds(data.get("for", data.get("duration")))
        keep_firing = _seconds(data.get("keep_firing_for"))
    except ValueError as exc:
        warnings.append(
            ParseWarning(entry.line, f"alert rule {name!r}: {exc}; skipped", "alert-rule")
        )
        return None
    return AlertRule(
        name=name,
        severity=_text(data.get("severity")) or labels.get("severity", ""),
        line=entry.line,
        dialect=dialect,
        condition=condition,
        expr=expr,
        for_seconds=for_seconds,
        channels=_channels(data.get("channels")),
        message=_text(data.get("message")),
        labels=labels,
        annotations=_strings(data.get("annotations")),
        keep_firing_seconds=keep_firing,
    )


def _dialect(data: dict[str, Any]) -> tuple[str, str, str]:
    """(dialect, condition, expr) of a rule mapping with lower-cased keys."""
    if "alert" in data:
        return "prometheus", "", _text(data.get("expr"))
    if "condition" in data:
        return "opsbook", _text(data.get("condition")), ""
    return "threshold", _text(data.get("threshold")), ""


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): _text(v) for k, v in value.items()}


def _channels(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_text(v) for v in value if _text(v))
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return ()


def _seconds(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a duration: {value!r}")
    return parse_duration(value)
