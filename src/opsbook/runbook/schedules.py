"""Schedules: ```cron blocks, crontab lines written as comments in a block, and in prose.

A crontab line in a ```cron block is named from the comment above it ("Database backup -
every 6 hours" -> `database-backup`). A crontab line written as a comment inside a procedure's
block (`# 0 2 * * * /path/to/log-rotation.sh`) schedules that procedure. Crontab lines in inline
code anywhere are read too. Every expression is checked with cronsim; `@daily` and friends are
written out as five fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime

from cronsim import CronSim, CronSimError

from opsbook.runbook.document import Element, Fence, Item, Label, ListBlock, Paragraph
from opsbook.runbook.model import BlockRole, ParseWarning, Procedure, Schedule
from opsbook.runbook.slug import github_slug, loose_key
from opsbook.runbook.structure import Node

Placed = Sequence[tuple[Fence, Node]]

_FIELD = r"(?:\*|\?|[\d]+|[A-Za-z]{3})(?:[-/,](?:\*|[\d]+|[A-Za-z]{3}))*(?:/\d+)?"
_CRON = re.compile(
    rf"^\s*(?P<expr>@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)"
    rf"|{_FIELD}\s+{_FIELD}\s+{_FIELD}\s+{_FIELD}\s+{_FIELD})\s+(?P<command>\S.*?)\s*$"
)
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_VALIDATION_START = datetime(2000, 1, 1)  # cronsim needs a start; any fixed one validates


def schedules(
    root: Node,
    placed: Placed,
    roles: dict[int, BlockRole],
    procedures: Sequence[Procedure],
    warnings: list[ParseWarning],
) -> list[Schedule]:
    owner = {s.block_line: p for p in procedures for s in p.steps if s.block_line}
    found: list[Schedule] = []
    for fence, _ in placed:
        first = fence.line + 1
        if roles[id(fence)] == BlockRole.SCHEDULE:
            found.extend(_cron_block(fence.content, first, warnings))
        elif fence.info.language in {"bash", "", "text"}:
            procedure = owner.get(fence.line)
            for schedule in _cron_comments(fence.content, first):
                found.append(_owned(schedule, procedure))
    found.extend(_cron_in_prose(root))
    return _unique_names(sorted(found, key=lambda s: s.line))


def _owned(schedule: Schedule, procedure: Procedure | None) -> Schedule:
    """A crontab line in a procedure's block schedules that procedure."""
    if procedure is None:
        return schedule
    name = loose_key(procedure.title) or procedure.slug
    return Schedule(
        schedule.cron, schedule.command, schedule.line, schedule.comment, name, procedure.slug
    )


def _cron_line(text: str, line: int, comment: str) -> Schedule | None:
    match = _CRON.match(text)
    if not match:
        return None
    expr = _MACROS.get(match["expr"], match["expr"])
    if not expr[0].isdigit() and "*" not in expr.split()[0] and not expr.startswith("*"):
        return None
    try:
        CronSim(expr, _VALIDATION_START)
    except CronSimError:
        return None
    return Schedule(expr, match["command"], line, comment)


def _cron_block(content: str, first: int, warnings: list[ParseWarning]) -> Iterator[Schedule]:
    comment = ""
    for offset, text in enumerate(content.split("\n")):
        stripped = text.strip()
        if not stripped:
            comment = ""
        elif stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
        elif re.match(r"^[A-Za-z_]\w*=", stripped):
            continue  # MAILTO=..., SHELL=...
        else:
            schedule = _cron_line(stripped, first + offset, comment)
            if schedule is None:
                warnings.append(
                    ParseWarning(
                        first + offset,
                        f"not a crontab line (five fields and a command): {stripped!r}",
                        "cron",
                    )
                )
            else:
                yield schedule
            comment = ""


def _cron_comments(content: str, first: int) -> Iterator[Schedule]:
    comment = ""
    for offset, text in enumerate(content.split("\n")):
        stripped = text.strip()
        if not stripped.startswith("#"):
            comment = ""
            continue
        body = stripped.lstrip("#").strip()
        schedule = _cron_line(body, first + offset, comment)
        if schedule is not None:
            yield schedule
        comment = body


def _cron_in_prose(root: Node) -> Iterator[Schedule]:
    for node in root.walk():
        for element in node.elements:
            for text, line in _prose(element):
                for code in _INLINE_CODE.findall(text):
                    schedule = _cron_line(code, line, "")
                    if schedule is not None:
                        yield schedule


def _prose(element: Element) -> Iterator[tuple[str, int]]:
    if isinstance(element, Paragraph):
        yield element.text, element.line
    elif isinstance(element, Label):
        yield element.rest, element.line
    elif isinstance(element, ListBlock):
        for item in all_items(element):
            yield item.text.split("\n")[0], item.line


def all_items(block: ListBlock) -> Iterator[Item]:
    for item in block.items:
        yield item
        for nested in item.lists:
            yield from all_items(nested)


def _unique_names(schedules: list[Schedule]) -> list[Schedule]:
    taken: dict[str, int] = {}
    out: list[Schedule] = []
    for schedule in schedules:
        base = job_name(schedule.name or _schedule_name(schedule))
        taken[base] = taken.get(base, 0) + 1
        name = base if taken[base] == 1 else f"{base}-{taken[base]}"
        out.append(
            Schedule(
                schedule.cron,
                schedule.command,
                schedule.line,
                schedule.comment,
                name,
                schedule.procedure,
            )
        )
    return out


def job_name(text: str) -> str:
    """A job name the scheduler accepts: ASCII letters, digits, `.`, `_`, `-`, at most 90."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folded).strip("-._")[:90].strip("-._")
    return name or "job"


def _schedule_name(schedule: Schedule) -> str:
    if schedule.comment:
        head = re.split(r"\s+[-–—:]\s+|\s*[-–—]\s+", schedule.comment, maxsplit=1)[0]
        name = github_slug(head).strip("-")
        if name:
            return name
    program = schedule.command.split()[0].rsplit("/", 1)[-1]
    return github_slug(program.rsplit(".", 1)[0]).strip("-") or "job"
