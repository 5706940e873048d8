"""The outline `opsbook parse` prints: a Rich tree of procedures, parts, steps and extracts."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from rich.tree import Tree

from opsbook.runbook.model import AlertRule, Procedure, Runbook, Step, StepKind
from opsbook.runbook.slug import loose_key
from opsbook.units import format_duration

_KIND_STYLE = {
    StepKind.SHELL: "cyan",
    StepKind.SQL: "magenta",
    StepKind.OPSBOOK: "green",
    StepKind.MANUAL: "yellow",
    StepKind.CHECKLIST: "yellow",
    StepKind.REFERENCE: "dim",
}


def outline(runbook: Runbook) -> Tree:
    """The whole runbook as a tree; text from the file is never read as Rich markup."""
    tree = Tree(Text.assemble((runbook.title, "bold"), ("  " + runbook.source, "dim")))
    procedures = tree.add(Text(f"Procedures ({len(runbook.procedures)})", style="bold"))
    for procedure in runbook.procedures:
        _procedure(procedures, procedure)
    _extracts(tree, runbook)
    roles = Counter(block.role.value for block in runbook.blocks)
    summary = ", ".join(f"{count} {role}" for role, count in roles.most_common())
    tree.add(
        Text(f"Blocks ({len(runbook.blocks)})", style="bold") + Text(f"  {summary}", style="dim")
    )
    return tree


def _procedure(parent: Tree, procedure: Procedure) -> None:
    count = len(procedure.steps)
    label = Text.assemble(
        (procedure.title, "bold"),
        (
            f"  #{procedure.slug}  line {procedure.line}  {count} step{'s' if count != 1 else ''}",
            "dim",
        ),
    )
    node = parent.add(label)
    number = 0
    for part in procedure.parts:
        role = "" if loose_key(part.title) == part.role else f"  {part.role}"
        part_node = node.add(Text.assemble((part.title, "italic"), (role, "dim")))
        for step in part.steps:
            number += 1
            part_node.add(_step(step, number))


def _step(step: Step, number: int) -> Text:
    text = Text.assemble(
        (f"{number}. ", "bold"), step.title, ("  " + step.kind.value, _KIND_STYLE[step.kind])
    )
    if step.tools:
        text.append("  " + ", ".join(step.tools), style="dim")
    if step.danger:
        text.append("  ⚠ " + ", ".join(step.danger), style="bold red")
    if step.interactive:
        text.append("  ⏳ " + ", ".join(step.interactive), style="yellow")
    if step.parameters:
        text.append("  asks " + ", ".join(p.name for p in step.parameters), style="blue")
    return text


def _extracts(tree: Tree, runbook: Runbook) -> None:
    rows: list[tuple[str, list[Text]]] = [
        ("Alert rules", [_rule_text(r) for r in runbook.alert_rules]),
        (
            "Schedules",
            [
                Text.assemble(
                    (s.cron, "cyan"),
                    f"  {s.name}  ",
                    (f"#{s.procedure}" if s.procedure else s.command, "dim"),
                )
                for s in runbook.schedules
            ],
        ),
        (
            "Thresholds",
            [
                Text.assemble(
                    t.metric,
                    ("  " + t.green, "green"),
                    ("  " + t.yellow, "yellow"),
                    ("  " + t.red, "red"),
                )
                for t in runbook.thresholds
            ],
        ),
        (
            "Severities",
            [
                Text.assemble(
                    (s.level, "bold"),
                    f" {s.name}",
                    (
                        f"  respond in {format_duration(s.response_seconds)}"
                        if s.response_seconds is not None
                        else "",
                        "dim",
                    ),
                )
                for s in runbook.severities
            ],
        ),
        (
            "Escalation",
            [
                Text(f"L{e.level} {e.target}")
                + Text(
                    f"  after {format_duration(e.after_seconds) if e.after_seconds else '0s'}",
                    style="dim",
                )
                for e in runbook.escalation
            ],
        ),
        (
            "Templates",
            [
                Text.assemble(t.name, (f"  {t.title}: " + ", ".join(t.fields), "dim"))
                for t in runbook.templates
            ],
        ),
        (
            "Checklists",
            [
                Text.assemble(c.title, (f"  {len(c.items)} items", "dim"))
                for c in runbook.checklists
            ],
        ),
        (
            "Variables",
            [
                Text.assemble(
                    v.name,
                    (" secret" if v.secret else "", "red"),
                    ("  declared" if v.declared else "", "dim"),
                )
                for v in runbook.variables
            ],
        ),
    ]
    for title, items in rows:
        if items:
            branch = tree.add(Text(f"{title} ({len(items)})", style="bold"))
            for item in items:
                branch.add(item)


def _rule_text(rule: AlertRule) -> Text:
    text = Text.assemble((rule.name, "bold"), f"  {rule.severity}  ", rule.condition or rule.expr)
    if rule.for_seconds:
        text.append(f" for {format_duration(rule.for_seconds)}", style="dim")
    if rule.channels:
        text.append("  → " + ", ".join(rule.channels), style="dim")
    return text
