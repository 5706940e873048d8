"""Names of procedure parts, and the role each fenced block plays.

A subsection titled "Symptoms", "Diagnostic Steps", "Resolution", ... is a part of its parent
procedure; `part_role` maps such titles to a small set of normalised roles. `classify_block`
decides, from the language, the attributes, the content and the headings above it, what a fenced
block is: steps to run, reference code, a diagram, alert rules, a cron schedule, environment
declarations, a message template, an escalation ladder, configuration or plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from opsbook.runbook.info import (
    CONFIG_LANGUAGES,
    DIAGRAM_LANGUAGES,
    RUNNABLE_LANGUAGES,
    SQL_LANGUAGES,
    TEXT_LANGUAGES,
    is_false,
)
from opsbook.runbook.model import BlockRole
from opsbook.runbook.slug import loose_key

# loose key of a title -> normalised role
_ROLES: dict[str, str] = {}
for _role, _titles in {
    "symptoms": "symptoms signs symptom indicators impact",
    "detection": "detection alert alerts trigger triggers how-to-detect",
    "diagnosis": (
        "diagnosis diagnostics diagnostic diagnostic-steps diagnose investigation "
        "investigation-steps investigate triage analysis root-cause-analysis root-cause "
        "troubleshooting-steps checks identify identification assessment assess"
    ),
    "procedure": (
        "procedure procedures runbook steps response-procedure response run-steps playbook "
        "instructions how-to execution"
    ),
    "mitigation": (
        "immediate-actions immediate-action immediate-response mitigation mitigate "
        "workaround workarounds quick-fix emergency-actions first-response containment"
    ),
    "resolution": (
        "resolution resolution-steps resolve solution solutions fix fixes remediation "
        "remediation-steps corrective-actions actions action-items"
    ),
    "recovery": "recovery recovery-steps restore restoration",
    "verification": "verification verify validation validate post-checks confirm testing",
    "rollback": "rollback roll-back rollback-steps undo revert",
    "prerequisites": "prerequisites prerequisite requirements before-you-begin preparation setup",
    "escalation": "escalation escalate when-to-escalate",
    "prevention": "prevention follow-up followup follow-ups prevent lessons-learned",
    "notes": (
        "note notes warning warnings important tip tips caution example examples output "
        "expected-output expected-result references see-also context background"
    ),
}.items():
    for _title in _titles.split():
        _ROLES[_title] = _role

DESCRIPTIVE_ROLES = frozenset({"symptoms", "detection", "notes", "escalation"})
_PARENTHESISED = re.compile(r"\s*[(\[].*?[)\]]\s*")


def part_role(title: str) -> str | None:
    """The normalised role of a part title ("Diagnostic Steps" -> "diagnosis"), or None."""
    key = loose_key(_PARENTHESISED.sub(" ", title))
    return _ROLES.get(key)


# -- blocks ------------------------------------------------------------------------------
_BOX_DRAWING = re.compile("[\u2500-\u257f\u2580-\u259f\u25b2\u25bc\u25ba\u25c4]")
_ASCII_ART = re.compile(r"^\s*[+|].*[-=]{3,}.*[+|]\s*$", re.M)
_MERMAID_STARTS = ("graph ", "flowchart ", "sequenceDiagram", "stateDiagram", "gantt")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=\S*.*$")
_CRON_LINE = re.compile(
    r"^\s*(?:@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|(?:[\d*/,\-?LW#A-Za-z]+\s+){4}[\d*/,\-?LW#A-Za-z]+)\s+\S"
)
_ESCALATION_LINE = re.compile(r"^\s*(?:[-*]\s*)?(?:L|Level\s*|Tier\s*)\d+\s*[:.)-]", re.I)
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,80}\]")
_SETTING_LINE = re.compile(r"^\s*[a-z_][a-z0-9_.]*\s*=\s*\S.*$", re.I)
_SQL_WORD = re.compile(
    r"\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|VACUUM|ANALYZE|REINDEX|EXPLAIN|SET|"
    r"SHOW|GRANT|REVOKE|TRUNCATE|BEGIN|COMMIT|WITH|COPY|CALL|DO|CLUSTER|REFRESH)\b",
    re.I,
)
_ALERT_KEYS = re.compile(
    r"^\s*(?:-\s*)?(?:alert|alerts|condition|expr|threshold|groups)\s*:", re.I | re.M
)
_PLACEHOLDER_VALUE = re.compile(r"<[^<>]*>|\.\.\.|\bxxx+\b|\byour[-_]|changeme|\bREPLACE", re.I)
_ENV_CONTEXT = ("environment", "variables", "env", "configuration", "config", "settings", "secrets")
_TEMPLATE_CONTEXT = (
    "template",
    "communication",
    "message",
    "announcement",
    "notification",
    "status update",
)


def classify_block(
    language: str, content: str, attrs: dict[str, str], path: Sequence[str]
) -> BlockRole:
    """The role of a fenced block. `path` holds the titles of the headings and labels above."""
    explicit = attrs.get("role", "")
    if explicit in BlockRole.__members__.values():
        return BlockRole(explicit)
    if is_false(attrs.get("run")):
        return BlockRole.REFERENCE
    for rule in _RULES:
        role = rule(language, content, path)
        if role is not None:
            return role
    return BlockRole.REFERENCE


def _diagram(language: str, content: str, path: Sequence[str]) -> BlockRole | None:
    head = content.lstrip()
    if language in DIAGRAM_LANGUAGES or head.startswith("@start"):
        return BlockRole.DIAGRAM
    if language in TEXT_LANGUAGES and (head.startswith(_MERMAID_STARTS) or _is_art(content)):
        return BlockRole.DIAGRAM
    return None


def _schedule(language: str, content: str, path: Sequence[str]) -> BlockRole | None:
    if language == "cron" or (language in TEXT_LANGUAGES and _all_lines(content, _CRON_LINE)):
        return BlockRole.SCHEDULE
    return None


def _yaml(language: str, content: str, path: Sequence[str]) -> BlockRole | None:
    if language != "yaml":
        return None
    return BlockRole.ALERT_RULES if _ALERT_KEYS.search(content) else BlockRole.CONFIG


def _environment(language: str, content: str, path: Sequence[str]) -> BlockRole | None:
    if language == "env":
        return BlockRole.ENVIRONMENT
    if language in TEXT_LANGUAGES | {"bash"} and _is_environment(language, content, path):
        return BlockRole.ENVIRONMENT
    return None


def _by_language(language: str, content: str, path: Sequence[str]) -> BlockRole | None:
    if language in CONFIG_LANGUAGES:
        return BlockRole.CONFIG
    if language in TEXT_LANGUAGES:
        return _classify_text(content, path)
    if language in SQL_LANGUAGES and _is_settings(content):
        return BlockRole.CONFIG
    if language in RUNNABLE_LANGUAGES:
        return BlockRole.STEPS
    return None


_RULES = (_diagram, _schedule, _yaml, _environment, _by_language)


def _classify_text(content: str, path: Sequence[str]) -> BlockRole:
    lines = _meaningful_lines(content)
    if lines and sum(1 for line in lines if _ESCALATION_LINE.match(line)) >= 2:
        return BlockRole.ESCALATION
    context = " ".join(path).lower()
    if _PLACEHOLDER.search(content) and any(word in context for word in _TEMPLATE_CONTEXT):
        return BlockRole.TEMPLATE
    return BlockRole.TEXT


def _meaningful_lines(content: str) -> list[str]:
    return [
        line for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _all_lines(content: str, pattern: re.Pattern[str]) -> bool:
    lines = _meaningful_lines(content)
    return bool(lines) and all(pattern.match(line) for line in lines)


def _is_art(content: str) -> bool:
    return len(_BOX_DRAWING.findall(content)) >= 6 or len(_ASCII_ART.findall(content)) >= 2


def _is_environment(language: str, content: str, path: Sequence[str]) -> bool:
    if not _all_lines(content, _ENV_LINE):
        return False
    if language != "bash":
        return True
    context = " ".join(path).lower()
    return bool(_PLACEHOLDER_VALUE.search(content)) or any(w in context for w in _ENV_CONTEXT)


def _is_settings(content: str) -> bool:
    lines = [
        line.split("--")[0]
        for line in _meaningful_lines(content)
        if not line.lstrip().startswith("--")
    ]
    lines = [line for line in lines if line.strip()]
    return bool(lines) and all(
        _SETTING_LINE.match(line) and not _SQL_WORD.match(line.strip()) for line in lines
    )
