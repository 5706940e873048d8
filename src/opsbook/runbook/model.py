"""The structured model of a Markdown runbook. Pure data: no I/O, no parsing here.

A `Runbook` holds the heading tree (`Section`), the runnable `Procedure`s with their `Part`s and
`Step`s, every fenced `Block` with the role it was given, and what was extracted for the rest of
opsbook: alert rules, schedules, thresholds, severities, escalation, templates, checklists and
variables. Every item keeps the 1-based source line it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StepKind(StrEnum):
    SHELL = "shell"  # bash/sh code, run in the run's shell session
    SQL = "sql"  # statements run against a named connection
    OPSBOOK = "opsbook"  # built-in opsbook actions, one per line
    MANUAL = "manual"  # prose the operator does and confirms
    CHECKLIST = "checklist"  # a `- [ ]` item the operator ticks
    REFERENCE = "reference"  # code shown, never run (TypeScript, nginx, ...)


class BlockRole(StrEnum):
    STEPS = "steps"  # became one or more runnable steps
    REFERENCE = "reference"  # kept as reference code (not run)
    DIAGRAM = "diagram"  # PlantUML, Mermaid, ASCII art
    ALERT_RULES = "alert_rules"
    SCHEDULE = "schedule"  # a cron block
    ENVIRONMENT = "environment"  # KEY=value declarations
    TEMPLATE = "template"  # a message template with [Placeholder] fields
    ESCALATION = "escalation"  # an escalation ladder written as text
    CONFIG = "config"  # other configuration (YAML, SQL settings, ...)
    TEXT = "text"  # plain text that fits no other role


@dataclass(frozen=True, slots=True)
class Parameter:
    """A value the step asks for (`read -p "Prompt: " NAME`), asked before the run starts."""

    name: str
    prompt: str
    line: int
    secret: bool = False  # `read -s`: the answer is not echoed and is masked like a secret


@dataclass(frozen=True, slots=True)
class Step:
    number: int  # 1-based within its procedure (see Procedure.steps)
    title: str
    kind: StepKind
    language: str
    code: str
    line: int  # first line of the step's code (or text) in the file
    part: str = ""  # title of the procedure part it belongs to ("Diagnostic Steps")
    variables: tuple[str, ...] = ()  # $VAR / ${VAR} it reads and does not set itself
    tools: tuple[str, ...] = ()  # commands it calls: psql, kubectl, curl, ...
    danger: tuple[str, ...] = ()  # why it needs confirmation: "rm -rf", "DROP", ...
    interactive: tuple[str, ...] = ()  # constructs that wait forever: "watch", "tail -f", ...
    parameters: tuple[Parameter, ...] = ()
    attrs: dict[str, str] = field(default_factory=dict)  # from the info string {name=x timeout=60}
    block_line: int = 0  # line of the fenced block's opening fence (0 for non-block steps)
    assigns: tuple[str, ...] = ()  # variables the step sets or exports for the steps after it
    text: str = ""  # the prose of a manual or checklist step (the whole list item)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.danger) or self.attrs.get("confirm", "").lower() in {"true", "yes", "1"}

    @property
    def runnable(self) -> bool:
        return self.kind in {StepKind.SHELL, StepKind.SQL, StepKind.OPSBOOK}


@dataclass(frozen=True, slots=True)
class Part:
    """A role-named subsection of a procedure: Symptoms, Diagnostic Steps, Resolution, ..."""

    role: str  # normalised role: symptoms, detection, diagnosis, procedure, resolution, ...
    title: str
    slug: str
    line: int
    steps: tuple[Step, ...] = ()
    text: str = ""  # prose of the part (e.g. the symptom list)


@dataclass(frozen=True, slots=True)
class Procedure:
    title: str
    slug: str
    line: int
    level: int  # heading level
    parts: tuple[Part, ...] = ()
    section: str = ""  # slug of the parent section ("common-operations")

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step of every part, in order, numbered 1..N within the procedure."""
        return tuple(
            _renumber(step, index)
            for index, step in enumerate((s for part in self.parts for s in part.steps), 1)
        )

    def part(self, name: str) -> Part | None:
        from opsbook.runbook.slug import loose_key

        key = loose_key(name)
        return next((p for p in self.parts if key in {loose_key(p.title), p.slug, p.role}), None)


def _renumber(step: Step, number: int) -> Step:
    if step.number == number:
        return step
    from dataclasses import replace

    return replace(step, number=number)


@dataclass(frozen=True, slots=True)
class Section:
    title: str  # without numbering or emoji
    slug: str  # GitHub-style anchor, unique within the file
    level: int
    line: int
    parent: str | None = None  # parent section's slug


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block, exactly once per block in the file."""

    line: int  # line of the opening fence
    end_line: int
    language: str  # normalised info-string language ("bash", "sql", "" when none)
    role: BlockRole
    content: str
    section: str = ""  # slug of the section it sits in
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    severity: str
    line: int
    dialect: str  # "opsbook" (condition/duration), "threshold" (Alerts: threshold:), "prometheus"
    condition: str = ""  # opsbook condition language (opsbook and threshold dialects)
    expr: str = ""  # PromQL, for the prometheus dialect
    for_seconds: float = 0.0
    channels: tuple[str, ...] = ()
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    keep_firing_seconds: float = 0.0  # Prometheus `keep_firing_for`


@dataclass(frozen=True, slots=True)
class Schedule:
    cron: str  # five fields
    command: str
    line: int
    comment: str = ""  # the comment line above it, if any ("Database backup - every 6 hours")
    name: str = ""  # a slug unique within the runbook ("database-backup")
    procedure: str = ""  # slug of the procedure whose block holds the crontab line, if any


@dataclass(frozen=True, slots=True)
class Threshold:
    """One row of a `Metric | Green | Yellow | Red` table, or a `CPU usage: < 70%` target."""

    metric: str
    green: str
    yellow: str
    red: str
    line: int
    group: str = ""  # the heading or label the row sits under ("Application Health")


@dataclass(frozen=True, slots=True)
class Severity:
    level: str  # "P1"
    name: str  # "Critical"
    response_seconds: float | None
    line: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    level: int  # 1 for L1
    target: str  # "On-call engineer"
    after_seconds: float  # delay after the incident opened before this level is paged
    line: int


@dataclass(frozen=True, slots=True)
class Template:
    name: str  # "initial", "update", "resolution"
    title: str  # the label in the runbook ("Initial Response")
    body: str
    fields: tuple[str, ...]  # placeholder names, in order: ("Title", "Severity", ...)
    line: int


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    text: str
    checked: bool
    line: int


@dataclass(frozen=True, slots=True)
class Checklist:
    title: str
    slug: str
    line: int
    items: tuple[ChecklistItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable the runbook reads or declares."""

    name: str
    secret: bool
    line: int  # first place it is declared or used
    example: str = ""  # value shown in an environment block (never a real secret)
    declared: bool = False  # appears in an environment block
    used_by: tuple[int, ...] = ()  # lines of the steps that read it


@dataclass(frozen=True, slots=True)
class ParseWarning:
    line: int
    message: str
    code: str = ""  # stable identifier for lint rules ("mojibake", "no-code", ...)


@dataclass(frozen=True, slots=True)
class Runbook:
    title: str
    source: str  # path as given
    sha256: str  # of the file's bytes, so runs can tell when the text changed
    sections: tuple[Section, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    blocks: tuple[Block, ...] = ()
    alert_rules: tuple[AlertRule, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    severities: tuple[Severity, ...] = ()
    escalation: tuple[EscalationLevel, ...] = ()
    templates: tuple[Template, ...] = ()
    checklists: tuple[Checklist, ...] = ()
    variables: tuple[Variable, ...] = ()
    warnings: tuple[ParseWarning, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def procedure(self, name: str) -> Procedure | None:
        """The procedure `name` means: its slug, or its title with case, numbering and emoji
        ignored. None when no procedure matches."""
        from opsbook.runbook.slug import loose_key

        key = loose_key(name.lstrip("#"))
        for procedure in self.procedures:
            if name.lstrip("#") == procedure.slug:
                return procedure
        return next((p for p in self.procedures if loose_key(p.title) == key), None)
