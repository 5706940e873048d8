"""What a runbook holds besides procedures: rules, schedules, policy, templates, variables.

`extract` walks the node tree once the blocks have their roles and the procedures are built:
alert rules from YAML blocks (alertrules.py), schedules from cron blocks and crontab lines
anywhere, thresholds / severities / escalation (policy.py), templates (templates.py),
checklists from task lists grouped by heading, and the variables the runbook declares in
environment blocks or reads in its steps, with the secret ones marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from opsbook.runbook.alertrules import read_alert_rules
from opsbook.runbook.document import Fence, ListBlock
from opsbook.runbook.model import (
    AlertRule,
    BlockRole,
    Checklist,
    ChecklistItem,
    EscalationLevel,
    ParseWarning,
    Procedure,
    Schedule,
    Severity,
    Template,
    Threshold,
    Variable,
)
from opsbook.runbook.policy import ladder_from_list, ladder_from_text, severities, thresholds
from opsbook.runbook.schedules import all_items, schedules
from opsbook.runbook.structure import Node
from opsbook.runbook.templates import template_from_text
from opsbook.secrets import MASK, is_secret_name


@dataclass(slots=True)
class Extracted:
    alert_rules: tuple[AlertRule, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    severities: tuple[Severity, ...] = ()
    escalation: tuple[EscalationLevel, ...] = ()
    templates: tuple[Template, ...] = ()
    checklists: tuple[Checklist, ...] = ()
    variables: tuple[Variable, ...] = ()
    warnings: list[ParseWarning] = field(default_factory=list)


Placed = Sequence[tuple[Fence, Node]]


def extract(
    root: Node, placed: Placed, roles: dict[int, BlockRole], procedures: Sequence[Procedure]
) -> Extracted:
    """Everything the runbook declares for the rest of opsbook."""
    out = Extracted()
    rules: list[AlertRule] = []
    for fence, _ in placed:
        if roles[id(fence)] == BlockRole.ALERT_RULES:
            found, warnings = read_alert_rules(fence.content, fence.line)
            rules.extend(found)
            out.warnings.extend(warnings)
    out.alert_rules = tuple(rules)
    out.schedules = tuple(schedules(root, placed, roles, procedures, out.warnings))
    out.thresholds = tuple(thresholds(root))
    out.severities = tuple(severities(root))
    out.escalation = tuple(_escalation(root, placed, roles, out.warnings))
    out.templates = tuple(
        template_from_text(node.title, fence.content.rstrip("\n"), fence.line)
        for fence, node in placed
        if roles[id(fence)] == BlockRole.TEMPLATE
    )
    out.checklists = tuple(_checklists(root))
    out.variables = tuple(_variables(placed, roles, procedures, out.warnings))
    return out


# -- escalation ---------------------------------------------------------------------------
def _escalation(
    root: Node, placed: Placed, roles: dict[int, BlockRole], warnings: list[ParseWarning]
) -> list[EscalationLevel]:
    ladders: list[tuple[list[EscalationLevel], list[ParseWarning]]] = [
        ladder_from_text(fence.content, fence.line + 1)
        for fence, _ in placed
        if roles[id(fence)] == BlockRole.ESCALATION
    ]
    for node in root.walk():
        if "escalat" in node.title.lower():
            for element in node.elements:
                if isinstance(element, ListBlock) and element.ordered:
                    ladders.append(ladder_from_list(element))
    ladders = [pair for pair in ladders if pair[0]]
    if not ladders:
        return []
    ladders.sort(key=lambda pair: pair[0][0].line)
    levels, ladder_warnings = ladders[0]
    warnings.extend(ladder_warnings)
    for other, _ in ladders[1:]:
        warnings.append(
            ParseWarning(
                other[0].line,
                f"a second escalation ladder; the one at line {levels[0].line} is used",
                "escalation-twice",
            )
        )
    return levels


# -- checklists ---------------------------------------------------------------------------
def _checklists(root: Node) -> Iterator[Checklist]:
    for node in root.walk():
        items = [
            ChecklistItem(_strip_box(item.text), bool(item.checked), item.line)
            for element in node.elements
            if isinstance(element, ListBlock)
            for item in all_items(element)
            if item.checked is not None
        ]
        if items:
            yield Checklist(node.title, node.slug, items[0].line, tuple(items))


def _strip_box(text: str) -> str:
    first = text.split("\n", maxsplit=1)[0].strip()
    return first[3:].strip() if first[:3].lower() in {"[ ]", "[x]"} else first


# -- variables ----------------------------------------------------------------------------
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_]\w*)=(?P<value>.*)$")
_PLACEHOLDER = re.compile(r"^<[^<>]*>$|\.\.\.|^x{3,}$|^your[-_]|changeme|^\$\{?\w+\}?$", re.I)
_SECRET_VALUE = re.compile(
    r"^(?:sk|pk|rk)[-_][A-Za-z0-9_-]{12,}$|^xox[abposr]-[A-Za-z0-9-]{10,}$|^gh[pousr]_[A-Za-z0-9]{20,}$"
    r"|^AKIA[A-Z0-9]{16}$|^(?=.*\d)(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+/=_-]{24,}$"
)
_URL_PASSWORD = re.compile(r"://[^:/@\s]+:(?P<pw>[^@\s/]+)@")


def _variables(
    placed: Placed,
    roles: dict[int, BlockRole],
    procedures: Sequence[Procedure],
    warnings: list[ParseWarning],
) -> list[Variable]:
    return sorted(
        _all_variables(placed, roles, procedures, warnings), key=lambda v: (v.line, v.name)
    )


def _all_variables(
    placed: Placed,
    roles: dict[int, BlockRole],
    procedures: Sequence[Procedure],
    warnings: list[ParseWarning],
) -> Iterator[Variable]:
    declared: dict[str, Variable] = {}
    for fence, _ in placed:
        if roles[id(fence)] == BlockRole.ENVIRONMENT:
            for variable in _declared(fence, warnings):
                declared.setdefault(variable.name, variable)
    uses: dict[str, list[int]] = {}
    for procedure in procedures:
        assigned: set[str] = set()
        for step in procedure.steps:
            for name in step.variables:
                if name not in assigned:
                    uses.setdefault(name, []).append(step.line)
            assigned.update(step.assigns)
            assigned.update(p.name for p in step.parameters)
    for name in declared.keys() | uses.keys():
        lines = tuple(uses.get(name, ()))
        known = declared.get(name)
        if known is None:
            yield Variable(name, secret_variable(name), min(lines), used_by=lines)
        else:
            first = min(known.line, *lines) if lines else known.line
            yield Variable(name, known.secret, first, known.example, True, lines)


_NOT_SECRET_SUFFIX = re.compile(r"_(?:PATH|FILE|DIR|NAME|ID)$")
_SECRET_URL = re.compile(r"(?:DATABASE|DB|REDIS|MONGO|AMQP|BROKER|WEBHOOK)_?URL$")


def secret_variable(name: str) -> bool:
    """True when a variable named `name` holds a secret: PASSWORD, TOKEN, KEY, ... in its name,
    or a connection or webhook URL (which carry credentials); a *_PATH or *_FILE only names one.
    """
    upper = name.upper()
    if _SECRET_URL.search(upper):
        return True
    if _NOT_SECRET_SUFFIX.search(upper) and not upper.endswith(("KEY_ID",)):
        return False
    return is_secret_name(name)


def _declared(fence: Fence, warnings: list[ParseWarning]) -> Iterator[Variable]:
    for offset, text in enumerate(fence.content.split("\n")):
        match = _ENV_LINE.match(text)
        if not match:
            continue
        name, value = match["name"], match["value"].strip().strip("\"'")
        line = fence.line + 1 + offset
        url_password = _URL_PASSWORD.search(value)
        secret = secret_variable(name) or bool(url_password) or bool(_SECRET_VALUE.match(value))
        example, real = value, False
        if secret and url_password:
            example = _URL_PASSWORD.sub(lambda m: m[0].replace(m["pw"], MASK), value)
            real = not _is_placeholder(url_password["pw"])
        elif "://" in value:
            example = value  # a URL without a password shows no secret
        elif secret and not _is_placeholder(value):
            example, real = MASK, value.lower() not in {"true", "false", "yes", "no"}
        if real:
            warnings.append(_secret_warning(line, name))
        yield Variable(name, secret, line, example, declared=True)


def _is_placeholder(value: str) -> bool:
    return not value or bool(_PLACEHOLDER.search(value)) or value.lower() in _DUMMY_SECRETS


_DUMMY_SECRETS = frozenset({"pass", "password", "secret", "changeme", "example", "token", "key"})


def _secret_warning(line: int, name: str) -> ParseWarning:
    return ParseWarning(
        line,
        f"{name} looks like a real secret written into the runbook; keep secrets out of "
        "runbooks and pass them as environment",
        "secret-value",
    )
