"""Alert rules as opsbook runs them: from `alerts:`, from Prometheus rule files, and the default
rules other areas provide. Every problem is a ConfigError with its file and line.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbook.alerts.grouping import Timing
from opsbook.alerts.language import Compiled, ConditionError, compile_condition
from opsbook.alerts.language.check import NamedMetric
from opsbook.alerts.named import MetricCatalog, default_catalog
from opsbook.alerts.templates import check_template
from opsbook.config import Config
from opsbook.config.alerts import AlertingConfig, AlertRuleConfig
from opsbook.config.load import format_path
from opsbook.config.yamlsrc import Locations, read_yaml
from opsbook.errors import ConfigError, SourceRef

EVERY_LABEL = "..."  # group_by: ['...'] makes every alert its own group

RuleProvider = Callable[[Config], list[AlertRuleConfig]]
"""Default rules an area needs (a job's dead man's switch, a backup past its RPO)."""


def rule_providers() -> list[RuleProvider]:
    """Every area's default-rule provider. Add an area's provider here, one line each.

    A configured rule with the same name as a default rule replaces it.
    """
    from opsbook.backups.rules import default_rules as backup_rules
    from opsbook.notify.health import builtin_rules as channel_rules
    from opsbook.scheduler.rules import default_rules as job_rules

    return [
        lambda config: _validated(channel_rules(config.settings)),
        lambda config: _validated(job_rules(config)),
        lambda config: _validated(backup_rules(config)),
    ]


def _validated(rules: list[dict[str, Any]]) -> list[AlertRuleConfig]:
    return [AlertRuleConfig.model_validate(rule) for rule in rules]


@dataclass(frozen=True)
class Rule:
    name: str
    compiled: Compiled
    hold: float  # `for`, seconds
    keep_firing_for: float
    severity: str
    channels: tuple[str, ...]
    message: str
    labels: dict[str, str]
    annotations: dict[str, str]
    runbook: str
    group_by: tuple[str, ...] | None  # None: one group per rule
    timing: Timing
    source: SourceRef = field(default_factory=lambda: SourceRef("(inline)"))

    @property
    def condition(self) -> str:
        return self.compiled.text

    def alert_labels(self, series: Mapping[str, str]) -> dict[str, str]:
        """The labels of one alert: the series' labels, the rule's labels, alertname, severity."""
        labels = {**series, **self.labels, "alertname": self.name}
        labels.setdefault("severity", self.severity)
        return dict(sorted(labels.items()))

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if self.group_by is None:
            return {"alertname": self.name}
        if EVERY_LABEL in self.group_by:
            return dict(labels)
        return {"alertname": self.name, **{k: labels.get(k, "") for k in self.group_by}}


def fingerprint(labels: Mapping[str, str]) -> str:
    text = json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_rules(config: Config, catalog: MetricCatalog | None = None) -> list[Rule]:
    """Every rule of the config: `alerts:`, `rule_files:` and the areas' default rules."""
    catalog = catalog or default_catalog()
    problems: list[tuple[SourceRef | None, str]] = []
    entries: list[tuple[AlertRuleConfig, SourceRef, tuple[str | int, ...] | None]] = []
    for index, rule in enumerate(config.settings.alerts):
        entries.append((rule, config.ref("alerts", index), ("alerts", index)))
    for path in _rule_file_paths(config, problems):
        entries.extend(_read_rule_file(path, catalog, problems))
    configured = {rule.name for rule, _, _ in entries}
    for provider in rule_providers():
        entries.extend(
            (rule, SourceRef("(default rules)"), None)
            for rule in provider(config)
            if rule.name not in configured
        )
    _check_channels(config, problems)
    rules: list[Rule] = []
    seen: dict[str, SourceRef] = {}
    for rule_config, ref, where in entries:
        if rule_config.name in seen:
            problems.append(
                (ref, f"rule {rule_config.name!r} is also defined at {seen[rule_config.name]}")
            )
            continue
        seen[rule_config.name] = ref
        try:
            rules.append(build_rule(rule_config, config.settings.alerting, catalog, ref))
        except ValueError as exc:
            place = config.ref(*where) if where else ref
            prefix = f"{format_path(where)}: " if where else f"rule {rule_config.name}: "
            problems.append((place, prefix + str(exc)))
    if problems:
        raise ConfigError(problems[0][1], source=problems[0][0], problems=problems)
    return rules


def _check_channels(config: Config, problems: list[tuple[SourceRef | None, str]]) -> None:
    from opsbook.config.channels import check_channel_references

    settings = config.settings
    references: list[tuple[tuple[str | int, ...], str]] = [
        (("alerts", index, "channels", position), name)
        for index, rule in enumerate(settings.alerts)
        for position, name in enumerate(rule.channels)
    ]
    references += [
        (("alerting", "default_channels", position), name)
        for position, name in enumerate(settings.alerting.default_channels)
    ]
    try:
        check_channel_references(config, references)
    except ConfigError as exc:
        problems.extend(exc.problems)


def build_rule(
    rule: AlertRuleConfig, defaults: AlertingConfig, catalog: MetricCatalog, source: SourceRef
) -> Rule:
    """One runnable rule; raises ValueError with what is wrong."""
    dialect, text = ("opsbook", rule.condition) if rule.condition else ("prometheus", rule.expr)
    assert text is not None
    try:
        compiled = compile_condition(text, catalog, dialect)
    except ConditionError as exc:
        field_name = "condition" if dialect == "opsbook" else "expr"
        raise ValueError(f"{field_name}: {exc}") from None
    for template in (rule.message, *rule.annotations.values()):
        check_template(template)
    timing = Timing(
        group_wait=_pick(rule.group_wait, defaults.group_wait),
        group_interval=_pick(rule.group_interval, defaults.group_interval),
        repeat_interval=_pick(rule.repeat_interval, defaults.repeat_interval),
    )
    if timing.repeat_interval < timing.group_interval:
        raise ValueError("repeat_interval must not be shorter than group_interval")
    runbook = rule.runbook or rule.annotations.get("runbook_url") or rule.annotations.get("runbook")
    return Rule(
        name=rule.name,
        compiled=compiled,
        hold=rule.for_,
        keep_firing_for=rule.keep_firing_for,
        severity=rule.labels.get("severity", rule.severity),
        channels=tuple(rule.channels or defaults.default_channels),
        message=rule.message,
        labels=dict(rule.labels),
        annotations=dict(rule.annotations),
        runbook=runbook or "",
        group_by=tuple(rule.group_by) if rule.group_by is not None else None,
        timing=timing,
        source=source,
    )


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _rule_file_paths(config: Config, problems: list[tuple[SourceRef | None, str]]) -> list[Path]:
    paths: list[Path] = []
    for index, pattern in enumerate(config.settings.rule_files):
        matched = sorted(glob.glob(str(config.resolve_path(pattern))))
        if not matched:
            problems.append((config.ref("rule_files", index), f"no rule file matches {pattern!r}"))
        paths.extend(Path(p) for p in matched)
    return paths


def _read_rule_file(
    path: Path, catalog: MetricCatalog, problems: list[tuple[SourceRef | None, str]]
) -> list[tuple[AlertRuleConfig, SourceRef, None]]:
    """The alerting rules of a Prometheus rule file; recording rules join `catalog`."""
    try:
        doc = read_yaml(path.read_text(encoding="utf-8"), str(path), {})
    except (OSError, UnicodeDecodeError) as exc:
        problems.append((SourceRef(str(path)), f"cannot read rule file: {exc}"))
        return []
    except ConfigError as exc:
        problems.extend(exc.problems)
        return []
    found: list[tuple[AlertRuleConfig, SourceRef, None]] = []
    for where, item in _rule_items(doc.data, doc.locations, problems):
        ref = doc.locations.ref(where)
        if not isinstance(item, dict):
            problems.append((ref, "a rule must be a mapping with `alert:` or `record:`"))
        elif "record" in item:
            _add_recording_rule(item, ref, catalog, problems)
        else:
            rule = _alert_rule(item, ref, doc.locations, where, problems)
            if rule is not None:
                found.append((rule, ref, None))
    return found


def _rule_items(
    data: Any, locations: Locations, problems: list[tuple[SourceRef | None, str]]
) -> list[tuple[tuple[str | int, ...], Any]]:
    if isinstance(data, list):  # a bare list of rules, as runbooks paste them
        return [((index,), item) for index, item in enumerate(data)]
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        problems.append((locations.ref(()), "a rule file holds `groups:` (or a list of rules)"))
        return []
    items: list[tuple[tuple[str | int, ...], Any]] = []
    for g, group in enumerate(data["groups"]):
        rules = group.get("rules", []) if isinstance(group, dict) else None
        if not isinstance(rules, list):
            problems.append((locations.ref(("groups", g)), "a group needs a list of `rules:`"))
            continue
        items.extend((("groups", g, "rules", r), item) for r, item in enumerate(rules))
    return items


_PROMETHEUS_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


def _alert_rule(
    item: dict[str, Any],
    ref: SourceRef,
    locations: Locations,
    where: tuple[str | int, ...],
    problems: list[tuple[SourceRef | None, str]],
) -> AlertRuleConfig | None:
    unknown = sorted(set(item) - _PROMETHEUS_KEYS)
    if unknown or "alert" not in item or "expr" not in item:
        what = f"unknown keys {', '.join(unknown)}" if unknown else "needs `alert:` and `expr:`"
        problems.append((ref, f"alerting rule {what}"))
        return None
    labels = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
    data = {
        "name": item["alert"],
        "expr": str(item["expr"]),
        "for": item.get("for", 0),
        "keep_firing_for": item.get("keep_firing_for", 0),
        "labels": labels,
        "annotations": {str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
        "severity": labels.get("severity", "warning"),
    }
    try:
        return AlertRuleConfig.model_validate(data)
    except ValueError as exc:
        text = str(exc).splitlines()
        detail = text[-1].strip() if text else str(exc)
        problems.append((locations.ref((*where, "expr")), f"rule {item['alert']}: {detail}"))
        return None


def _add_recording_rule(
    item: dict[str, Any],
    ref: SourceRef,
    catalog: MetricCatalog,
    problems: list[tuple[SourceRef | None, str]],
) -> None:
    name, expr = str(item.get("record", "")), str(item.get("expr", ""))
    if item.get("labels"):
        problems.append((ref, f"recording rule {name}: labels are not supported"))
        return
    try:
        compiled = compile_condition(expr, catalog, "prometheus")
    except ConditionError as exc:
        problems.append((ref, f"recording rule {name}: {exc}"))
        return
    catalog.named_metrics[name] = NamedMetric(
        name, expr, compiled.unit, f"recording rule ({ref})", dialect="prometheus"
    )
    catalog.families.setdefault(name, "recording rule")
