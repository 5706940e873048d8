"""Why a step needs confirmation: the danger list.

The list is short and explicit: each reason names what was found (`pg_terminate_backend`,
`DROP`, `DELETE without WHERE`, `--force`, ...) so the person confirming the step knows why
opsbook asks. Comments and echoed text are not searched; SQL words match in any case.
`docs/runbooks.md` ("The danger list") documents every reason.
"""

from __future__ import annotations

import re

# (reason, word that must appear, pattern), searched in code with comments and echoed text
# removed; the word (lower case) skips the pattern cheaply for most code. SQL is case-blind.
_DANGER: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (reason, trigger, re.compile(pattern, flags))
    for reason, trigger, pattern, flags in (
        (
            "rm -rf",
            "rm",
            r"\brm\s+(?:-[a-zA-Z]*(?:r[a-zA-Z]*f|f[a-zA-Z]*r)\b|-[rR]\s+-f\b"
            r"|-f\s+-[rR]\b|--recursive\s+--force\b|--force\s+--recursive\b)",
            0,
        ),
        ("pg_terminate_backend", "pg_terminate_backend", r"\bpg_terminate_backend\b", re.I),
        ("VACUUM FULL", "vacuum", r"\bVACUUM\s*(?:\(\s*)?FULL\b", re.I),
        (
            "REINDEX DATABASE",
            "reindex",
            r"\bREINDEX\s+(?:\([^)]*\)\s*)?(?:DATABASE|SYSTEM)\b",
            re.I,
        ),
        ("ALTER SYSTEM", "alter", r"\bALTER\s+SYSTEM\b", re.I),
        (
            "DROP",
            "drop",
            r"\bDROP\s+(?:TABLE|DATABASE|INDEX|SCHEMA|VIEW|MATERIALIZED|FUNCTION"
            r"|TRIGGER|SEQUENCE|COLUMN|CONSTRAINT|ROLE|USER|EXTENSION|TYPE|OWNED|TABLESPACE"
            r"|PUBLICATION|SUBSCRIPTION)\b",
            re.I,
        ),
        ("TRUNCATE", "truncate", r"\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?[\"\w]", re.I),
        ("docker system prune", "prune", r"\bdocker\s+system\s+prune\b", 0),
        ("docker volume prune", "prune", r"\bdocker\s+volume\s+prune\b", 0),
        ("kubectl delete", "kubectl", r"\bkubectl\b[^\n|;&]*?\sdelete\b", 0),
        ("rollout undo", "rollout", r"\brollout\s+undo\b", 0),
        ("--force", "--force", r"(?<![\w-])--force\b", 0),
        ("--prod", "--prod", r"(?<![\w-])--prod\b", 0),
        ("dropdb", "dropdb", r"\bdropdb\b", 0),
        ("FLUSHALL", "flush", r"\bFLUSH(?:ALL|DB)\b", re.I),
        ("terraform destroy", "destroy", r"\bterraform\s+destroy\b", 0),
        ("find -delete", "-delete", r"\bfind\b[^\n|;&]*\s-delete\b", 0),
        ("HTTP DELETE", "delete", r"(?:-X|--request)\s*['\"]?DELETE\b", 0),
    )
)
DANGER_REASONS = tuple(reason for reason, _, _ in _DANGER)
_DELETE = re.compile(r"\bDELETE\s+FROM\b", re.I)
_UPDATE = re.compile(r"\bUPDATE\s+[\"\w.]+\s+SET\b", re.I)
_STATEMENT_END = re.compile(r";|\"|'|\n\s*\n|\Z")
_WHERE = re.compile(r"\bWHERE\b", re.I)
_COMMENT_LINE = re.compile(r"^\s*(?:#|--(?:\s|$)|//).*$", re.M)
_ECHO = re.compile(
    r"\b(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^;|&\n\"'$`]*)"
)


def find_danger(code: str) -> tuple[str, ...]:
    """Why `code` needs confirmation, in a fixed order; comments and echoed text are ignored."""
    text = _ECHO.sub(" ", _COMMENT_LINE.sub("", code))
    lowered = text.lower()
    reasons = [
        reason
        for reason, trigger, pattern in _DANGER
        if trigger in lowered and pattern.search(text)
    ]
    if "delete" in lowered and _without_where(_DELETE, text):
        reasons.append("DELETE without WHERE")
    if "update" in lowered and _without_where(_UPDATE, text):
        reasons.append("UPDATE without WHERE")
    return tuple(reasons)


def _without_where(pattern: re.Pattern[str], text: str) -> bool:
    for match in pattern.finditer(text):
        window = text[match.end() : match.end() + 4000]
        end = _STATEMENT_END.search(window)
        statement = window[: end.start()] if end else window
        if not _WHERE.search(statement):
            return True
    return False


# -- commands ----------------------------------------------------------------------------
