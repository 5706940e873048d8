"""Problems in a runbook, each with its line and a level: error, warning or info.

Errors are what would break a run or an import (an unclosed block, an alert rule or crontab
line that cannot be read, a real secret written into the file, a bad `timeout=`); warnings are
what a reader should fix (mojibake, a step that waits forever, a broken anchor link, a
placeholder left in code); infos say what the runbook needs (variables it reads that no
environment block declares).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opsbook.errors import RunbookError
from opsbook.runbook.decode import decode_bytes, normalize_newlines
from opsbook.runbook.info import is_false, is_true
from opsbook.runbook.model import Procedure, Runbook, Step, StepKind
from opsbook.runbook.parse import parse_file
from opsbook.runbook.slug import loose_key
from opsbook.units import parse_duration

ERROR, WARNING, INFO = "error", "warning", "info"
LEVELS = {  # every code lint reports, with its level (docs/runbooks.md lists them)
    "encoding": ERROR,
    "unclosed-fence": ERROR,
    "yaml": ERROR,
    "alert-rule": ERROR,
    "cron": ERROR,
    "secret-value": ERROR,
    "attribute": ERROR,
    "mojibake": WARNING,
    "escalation-time": WARNING,
    "escalation-twice": WARNING,
    "waits-forever": WARNING,
    "placeholder": WARNING,
    "sql-in-shell": WARNING,
    "broken-link": WARNING,
    "duplicate-procedure": WARNING,
    "variable": INFO,
}
_LINK = re.compile(r"\]\(#(?P<anchor>[^)\s]+)\)")
_PLACEHOLDER = re.compile(
    r"^\s*\[[^\]\n]{3,}\]\s*$|<(?:your|enter|insert|previous|backup)[\w -]*>", re.I | re.M
)
_SQL_WORDS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "VACUUM"}
)


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int
    level: str  # error, warning, info
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.level}: {self.message} [{self.code}]"


def lint_file(path: str | Path) -> list[Problem]:
    """Every problem of the runbook at `path`, by line. NotFoundError when there is no file."""
    source = str(path)
    try:
        runbook = parse_file(path)
    except RunbookError as exc:
        line = exc.source.line if exc.source else 0
        return [_problem(source, line, "encoding", exc.message)]
    text = decode_bytes(Path(path).read_bytes(), source).text
    return lint_runbook(runbook, text)


def _problem(source: str, line: int, code: str, message: str) -> Problem:
    return Problem(source, line, LEVELS.get(code, WARNING), code, message)


def lint_runbook(runbook: Runbook, text: str) -> list[Problem]:
    """The problems of a parsed runbook; `text` is its text, for the checks on prose."""
    text = normalize_newlines(text)
    problems = [
        _problem(runbook.source, w.line, w.code or "parse", w.message) for w in runbook.warnings
    ]
    problems.extend(_link_problems(runbook, text))
    problems.extend(_duplicate_titles(runbook))
    for procedure in runbook.procedures:
        for step in procedure.steps:
            problems.extend(_step_problems(runbook.source, procedure, step))
    problems.extend(_undeclared(runbook))
    return sorted(problems, key=lambda p: (p.line, p.level, p.code))


def _step_problems(source: str, procedure: Procedure, step: Step) -> Iterator[Problem]:
    where = f"step {step.number} ({step.title!r}) of {procedure.title!r}"

    def problem(code: str, message: str) -> Problem:
        return Problem(source, step.line, LEVELS[code], code, f"{where}: {message}")

    timeout = step.attrs.get("timeout")
    if timeout is not None:
        try:
            parse_duration(timeout)
        except ValueError:
            yield problem("attribute", f"timeout={timeout!r} is not a duration (30s, 5m)")
    for key in ("confirm", "run", "split", "errexit"):
        value = step.attrs.get(key)
        if value is not None and not (is_true(value) or is_false(value)):
            yield problem("attribute", f"{key}={value!r} must be true or false")
    if step.interactive and timeout is None:
        reasons = ", ".join(step.interactive)
        yield problem(
            "waits-forever",
            f"waits until stopped ({reasons}); "
            "make it bounded or give the block a timeout, e.g. {timeout=60s}",
        )
    if step.kind == StepKind.SHELL:
        if _PLACEHOLDER.search(step.code):
            yield problem("placeholder", "the code still holds a placeholder to fill in")
        sql = sorted(set(step.tools) & _SQL_WORDS)
        if sql:
            yield problem(
                "sql-in-shell",
                f"{', '.join(sql)} is SQL written in a shell "
                "block; put it in a ```sql block or pass it to psql -c",
            )


def _link_problems(runbook: Runbook, text: str) -> Iterator[Problem]:
    anchors = {s.slug for s in runbook.sections}
    in_block: set[int] = set()
    for block in runbook.blocks:
        in_block.update(range(block.line, block.end_line + 1))
    for number, line in enumerate(text.split("\n"), 1):
        if number in in_block or "](#" not in line:
            continue
        for match in _LINK.finditer(line):
            if match["anchor"] not in anchors:
                yield _problem(
                    runbook.source,
                    number,
                    "broken-link",
                    f"link to #{match['anchor']}, but no heading has that anchor",
                )


def _duplicate_titles(runbook: Runbook) -> Iterator[Problem]:
    seen: dict[str, Procedure] = {}
    for procedure in runbook.procedures:
        key = loose_key(procedure.title)
        first = seen.setdefault(key, procedure)
        if first is not procedure:
            yield _problem(
                runbook.source,
                procedure.line,
                "duplicate-procedure",
                f"procedure {procedure.title!r} has the same name as the one at line {first.line}; "
                f"name it by its anchor (#{procedure.slug}) when running it",
            )


def _undeclared(runbook: Runbook) -> Iterator[Problem]:
    for variable in runbook.variables:
        if not variable.declared and variable.used_by:
            kind = "secret " if variable.secret else ""
            yield _problem(
                runbook.source,
                variable.line,
                "variable",
                f"reads the {kind}variable {variable.name}, which no environment block declares; "
                "it must be set when the runbook runs",
            )
