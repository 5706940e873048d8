"""The versioned JSON of a runbook, shared by `opsbook parse --json` and the API.

`docs/runbook-schema.md` documents every key; `tests/runbook/test_schema.py` checks that the
document and the code agree. Keys are only ever added; removing or renaming one bumps
`cli.output.SCHEMA_VERSION`.
"""

from __future__ import annotations

from typing import Any

from opsbook.runbook.model import (
    AlertRule,
    Block,
    Checklist,
    EscalationLevel,
    ParseWarning,
    Part,
    Procedure,
    Runbook,
    Schedule,
    Section,
    Severity,
    Step,
    Template,
    Threshold,
    Variable,
)
from opsbook.runbook.templates import to_jinja


def runbook_json(runbook: Runbook) -> dict[str, Any]:
    """The runbook as JSON-ready data (without `schema_version`, which `emit_json` adds)."""
    return {
        "title": runbook.title,
        "source": runbook.source,
        "sha256": runbook.sha256,
        "sections": [section_json(s) for s in runbook.sections],
        "procedures": [procedure_json(p) for p in runbook.procedures],
        "blocks": [block_json(b) for b in runbook.blocks],
        "alert_rules": [alert_rule_json(r) for r in runbook.alert_rules],
        "schedules": [schedule_json(s) for s in runbook.schedules],
        "thresholds": [threshold_json(t) for t in runbook.thresholds],
        "severities": [severity_json(s) for s in runbook.severities],
        "escalation": [escalation_json(e) for e in runbook.escalation],
        "templates": [template_json(t) for t in runbook.templates],
        "checklists": [checklist_json(c) for c in runbook.checklists],
        "variables": [variable_json(v) for v in runbook.variables],
        "warnings": [warning_json(w) for w in runbook.warnings],
    }


def section_json(section: Section) -> dict[str, Any]:
    return {
        "title": section.title,
        "slug": section.slug,
        "level": section.level,
        "line": section.line,
        "parent": section.parent,
    }


def procedure_json(procedure: Procedure) -> dict[str, Any]:
    steps = procedure.steps
    numbers: list[list[int]] = []
    first = 1
    for part in procedure.parts:
        numbers.append(list(range(first, first + len(part.steps))))
        first += len(part.steps)
    return {
        "title": procedure.title,
        "slug": procedure.slug,
        "line": procedure.line,
        "level": procedure.level,
        "section": procedure.section,
        "parts": [part_json(p, n) for p, n in zip(procedure.parts, numbers, strict=True)],
        "steps": [step_json(s) for s in steps],
    }


def part_json(part: Part, step_numbers: list[int]) -> dict[str, Any]:
    return {
        "role": part.role,
        "title": part.title,
        "slug": part.slug,
        "line": part.line,
        "text": part.text,
        "steps": step_numbers,
    }


def step_json(step: Step) -> dict[str, Any]:
    return {
        "number": step.number,
        "title": step.title,
        "kind": step.kind.value,
        "language": step.language,
        "code": step.code,
        "text": step.text,
        "line": step.line,
        "block_line": step.block_line,
        "part": step.part,
        "variables": list(step.variables),
        "assigns": list(step.assigns),
        "tools": list(step.tools),
        "danger": list(step.danger),
        "interactive": list(step.interactive),
        "parameters": [
            {"name": p.name, "prompt": p.prompt, "line": p.line, "secret": p.secret}
            for p in step.parameters
        ],
        "attrs": dict(step.attrs),
        "needs_confirmation": step.needs_confirmation,
        "runnable": step.runnable,
    }


def block_json(block: Block) -> dict[str, Any]:
    return {
        "line": block.line,
        "end_line": block.end_line,
        "language": block.language,
        "role": block.role.value,
        "section": block.section,
        "attrs": dict(block.attrs),
        "content": block.content,
    }


def alert_rule_json(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "dialect": rule.dialect,
        "condition": rule.condition,
        "expr": rule.expr,
        "for_seconds": rule.for_seconds,
        "keep_firing_seconds": rule.keep_firing_seconds,
        "severity": rule.severity,
        "channels": list(rule.channels),
        "message": rule.message,
        "labels": dict(rule.labels),
        "annotations": dict(rule.annotations),
        "line": rule.line,
    }


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "cron": schedule.cron,
        "command": schedule.command,
        "procedure": schedule.procedure,
        "comment": schedule.comment,
        "line": schedule.line,
    }


def threshold_json(threshold: Threshold) -> dict[str, Any]:
    return {
        "metric": threshold.metric,
        "green": threshold.green,
        "yellow": threshold.yellow,
        "red": threshold.red,
        "group": threshold.group,
        "line": threshold.line,
    }


def severity_json(severity: Severity) -> dict[str, Any]:
    return {
        "level": severity.level,
        "name": severity.name,
        "response_seconds": severity.response_seconds,
        "description": severity.description,
        "line": severity.line,
    }


def escalation_json(level: EscalationLevel) -> dict[str, Any]:
    return {
        "level": level.level,
        "target": level.target,
        "after_seconds": level.after_seconds,
        "line": level.line,
    }


def template_json(template: Template) -> dict[str, Any]:
    return {
        "name": template.name,
        "title": template.title,
        "body": template.body,
        "fields": list(template.fields),
        "jinja": to_jinja(template),
        "line": template.line,
    }


def checklist_json(checklist: Checklist) -> dict[str, Any]:
    return {
        "title": checklist.title,
        "slug": checklist.slug,
        "line": checklist.line,
        "items": [{"text": i.text, "checked": i.checked, "line": i.line} for i in checklist.items],
    }


def variable_json(variable: Variable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "secret": variable.secret,
        "declared": variable.declared,
        "example": variable.example,
        "line": variable.line,
        "used_by": list(variable.used_by),
    }


def warning_json(warning: ParseWarning) -> dict[str, Any]:
    return {"line": warning.line, "code": warning.code, "message": warning.message}
