"""`opsbook import`: a runbook's rules, schedules and policy as an opsbook config fragment.

One YAML file per runbook, `DIR/<runbook-stem>.yaml`, with the sections other parts of opsbook
load unchanged (`include: [DIR/*.yaml]` in opsbook.yaml):

    alerts        name, condition | expr, for, severity, channels, message, labels,
                  annotations, keep_firing_for (when set), runbook (the procedure it links to)
    thresholds    metric, green, yellow, red
    schedules     name, cron, timezone, command | procedure
    incidents     severities, escalation, templates (Jinja2)

Files are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsbook.errors import UsageError
from opsbook.runbook.model import AlertRule, Runbook
from opsbook.runbook.slug import loose_key
from opsbook.runbook.templates import to_jinja
from opsbook.units import format_duration

SECTIONS = ("alerts", "thresholds", "schedules", "incidents")


@dataclass(frozen=True, slots=True)
class ImportResult:
    source: str
    path: Path | None  # None when the runbook had nothing to import
    counts: dict[str, int]


def config_fragment(runbook: Runbook, link: str | None = None) -> dict[str, Any]:
    """The config sections a runbook declares; `link` is how rules and schedules name its file."""
    link = runbook.source if link is None else link
    fragment: dict[str, Any] = {}
    if runbook.alert_rules:
        fragment["alerts"] = [_alert(rule, runbook, link) for rule in runbook.alert_rules]
    if runbook.thresholds:
        fragment["thresholds"] = [
            {"metric": t.metric, "green": t.green, "yellow": t.yellow, "red": t.red}
            for t in runbook.thresholds
        ]
    if runbook.schedules:
        fragment["schedules"] = [_schedule(s, link) for s in runbook.schedules]
    incidents = _incidents(runbook)
    if incidents:
        fragment["incidents"] = incidents
    return fragment


def _duration(seconds: float) -> str:
    return format_duration(seconds) if seconds > 0 else "0s"


def _alert(rule: AlertRule, runbook: Runbook, link: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": rule.name}
    if rule.expr:
        entry["expr"] = rule.expr
    else:
        entry["condition"] = rule.condition
    entry["for"] = _duration(rule.for_seconds)
    if rule.keep_firing_seconds:
        entry["keep_firing_for"] = _duration(rule.keep_firing_seconds)
    entry["severity"] = rule.severity
    entry["channels"] = list(rule.channels)
    entry["message"] = rule.message or rule.annotations.get("summary", "")
    entry["labels"] = dict(rule.labels)
    entry["annotations"] = dict(rule.annotations)
    procedure = _procedure_for(rule, runbook)
    if procedure:
        entry["runbook"] = f"{link}#{procedure}"
    return entry


def _procedure_for(rule: AlertRule, runbook: Runbook) -> str:
    """The slug of the one procedure whose title carries the rule's name, if there is one."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", rule.name)
    key = loose_key(words.replace("_", " "))
    if not key:
        return ""
    matches = [p.slug for p in runbook.procedures if key in loose_key(p.title)]
    return matches[0] if len(matches) == 1 else ""


def _schedule(schedule: Any, link: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": schedule.name, "cron": schedule.cron, "timezone": "UTC"}
    if schedule.procedure:
        entry["procedure"] = f"{link}#{schedule.procedure}"
    else:
        entry["command"] = schedule.command
    return entry


def _incidents(runbook: Runbook) -> dict[str, Any]:
    incidents: dict[str, Any] = {}
    if runbook.severities:
        severities = []
        for s in runbook.severities:
            entry: dict[str, Any] = {"level": s.level, "name": s.name}
            if s.response_seconds is not None:
                entry["response"] = _duration(s.response_seconds)
            entry["description"] = s.description
            severities.append(entry)
        incidents["severities"] = severities
    if runbook.escalation:
        incidents["escalation"] = [
            {"level": e.level, "target": e.target, "after": _duration(e.after_seconds)}
            for e in runbook.escalation
        ]
    if runbook.templates:
        incidents["templates"] = {t.name: to_jinja(t) + "\n" for t in runbook.templates}
    return incidents


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so templates read as written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_fragment(fragment: dict[str, Any], source: str) -> str:
    header = (
        f"# opsbook config imported from {source} by `opsbook import`.\n"
        "# Load it from opsbook.yaml with `include: [<this folder>/*.yaml]`; edit it freely.\n"
    )
    body = yaml.dump(fragment, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def import_files(runbooks: Sequence[Runbook], out: Path) -> list[ImportResult]:
    """Write one fragment per runbook into `out`; runbooks with nothing to import are skipped."""
    targets: dict[str, str] = {}
    for runbook in runbooks:
        name = Path(runbook.source).stem + ".yaml"
        if name in targets:
            raise UsageError(
                f"{runbook.source} and {targets[name]} would both be written to {out / name}; "
                "import them into different folders"
            )
        targets[name] = runbook.source
    out.mkdir(parents=True, exist_ok=True)
    results: list[ImportResult] = []
    for runbook in runbooks:
        fragment = config_fragment(runbook)
        counts = _counts(fragment)
        if not fragment:
            results.append(ImportResult(runbook.source, None, counts))
            continue
        path = out / (Path(runbook.source).stem + ".yaml")
        _write_atomically(path, render_fragment(fragment, runbook.source))
        results.append(ImportResult(runbook.source, path, counts))
    return results


def _counts(fragment: dict[str, Any]) -> dict[str, int]:
    incidents = fragment.get("incidents", {})
    return {
        "alerts": len(fragment.get("alerts", [])),
        "thresholds": len(fragment.get("thresholds", [])),
        "schedules": len(fragment.get("schedules", [])),
        "severities": len(incidents.get("severities", [])),
        "escalation": len(incidents.get("escalation", [])),
        "templates": len(incidents.get("templates", {})),
    }


def _write_atomically(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
