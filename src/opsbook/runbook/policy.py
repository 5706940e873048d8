"""Thresholds, severity policy and escalation ladders, as runbooks write them.

thresholds   tables `Metric | Green | Yellow | Red`, and target lists `CPU usage: < 70%`
severities   tables `Severity | Response Time | Examples`, and headings or labels such as
             `P0 - Critical` / `Critical (P1)` over a list with `Response Time: 15 minutes`
escalation   `L1: On-call engineer` / `L2: Engineering lead (if not resolved in 30 min)`
             in a block, or a numbered list under an "Escalation" heading
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsbook.runbook.document import Element, Item, ListBlock, Table
from opsbook.runbook.model import EscalationLevel, ParseWarning, Severity, Threshold
from opsbook.runbook.structure import Node
from opsbook.units import parse_duration

# -- thresholds ---------------------------------------------------------------------------
_COLOURS = {
    "green": ("green", "ok", "good", "healthy", "normal"),
    "yellow": ("yellow", "amber", "warning", "warn", "degraded"),
    "red": ("red", "critical", "bad", "alert", "unhealthy"),
}
_TARGET = re.compile(
    r"^\s*(?:\*\*(?P<bold>[^*]{2,80})\*\*|(?P<plain>[^:*]{2,80}))\s*:\s*(?P<value>.+)$"
)
_QUANTITY = re.compile(
    r"^(?P<op><=|>=|<|>|≤|≥)\s*(?P<qty>[\d.,]+(?:\s*(?:%|/\s*[A-Za-z0-9]+|[A-Za-zµ]+(?:/[A-Za-z]+)?))?)"
    r"\s*(?P<rest>.*)$"
)
_COMPLEMENT = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "≤": ">", "≥": "<"}


def thresholds(root: Node) -> list[Threshold]:
    """Rows of colour tables, then target lists, in document order."""
    found: list[Threshold] = []
    for node in root.walk():
        for element in node.elements:
            if isinstance(element, Table):
                found.extend(_table_thresholds(element, node.title))
            elif isinstance(element, ListBlock) and "alert" not in node.title.lower():
                found.extend(_target_thresholds(element, node.title))
    return sorted(found, key=lambda t: t.line)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for index, cell in enumerate(header):
        words = set(re.findall(r"[a-z]+", cell.lower()))
        if words & set(names):
            return index
    return None


def _table_thresholds(table: Table, group: str) -> Iterator[Threshold]:
    columns = {colour: _column(table.header, names) for colour, names in _COLOURS.items()}
    if columns["green"] is None or columns["red"] is None:
        return
    for line, cells in table.rows:

        def cell(index: int | None, cells: list[str] = cells) -> str:
            return cells[index].strip() if index is not None and index < len(cells) else ""

        metric = cell(0)
        if metric:
            yield Threshold(
                metric,
                cell(columns["green"]),
                cell(columns["yellow"]),
                cell(columns["red"]),
                line,
                group,
            )


def _target_thresholds(block: ListBlock, group: str) -> Iterator[Threshold]:
    for item in block.items:
        match = _TARGET.match(item.text.split("\n")[0])
        if not match:
            continue
        quantity = _QUANTITY.match(match["value"].strip())
        if not quantity:
            continue
        metric = (match["bold"] or match["plain"] or "").strip()
        rest = quantity["rest"].strip()
        if rest:
            metric = f"{metric} {rest}" if rest.startswith("(") else f"{metric} ({rest})"
        op, qty = quantity["op"], quantity["qty"].strip()
        yield Threshold(metric, f"{op} {qty}", "", f"{_COMPLEMENT[op]} {qty}", item.line, group)


# -- severities ---------------------------------------------------------------------------
_LEVEL_FIRST = re.compile(
    r"^\s*(?P<level>(?:P|SEV|Sev|S)\s*-?\s*\d)\b\s*(?:[-–—:|]\s*(?P<name>.+))?$"
)
_LEVEL_LAST = re.compile(
    r"^\s*(?P<name>[A-Za-z][\w /-]*?)\s*[(\[](?P<level>(?:P|SEV|Sev|S)\s*-?\s*\d)[)\]]\s*$"
)
_FIELD = re.compile(r"^\s*(?:\*\*(?P<bold>[^*]+)\*\*|(?P<plain>[^:]+))\s*:\s*(?P<value>.+)$")


def split_level(text: str) -> tuple[str, str] | None:
    """("P1", "Critical") from "P1 - Critical" or "Critical (P1)"; None for other text."""
    match = _LEVEL_FIRST.match(text) or _LEVEL_LAST.match(text)
    if not match:
        return None
    level = re.sub(r"[\s-]", "", match["level"]).upper()
    return level, (match["name"] or "").strip()


def response_seconds(text: str) -> float | None:
    """Seconds in "15 min", "1 hour", "Immediate"; None when the text is not a duration."""
    cleaned = text.strip().lower()
    if cleaned in {"immediate", "immediately", "now", "asap"}:
        return 0.0
    match = re.search(r"\d+(?:\.\d+)?\s*[a-z]+", cleaned)
    if not match:
        return None
    try:
        return parse_duration(match[0])
    except ValueError:
        return None


def severities(root: Node) -> list[Severity]:
    """The severity policy: the first table or heading list that defines one."""
    for node in root.walk():
        for element in node.elements:
            if isinstance(element, Table):
                rows = list(_table_severities(element))
                if rows:
                    return rows
    listed = [s for node in root.walk() if (s := _node_severity(node)) is not None]
    return listed


def _table_severities(table: Table) -> Iterator[Severity]:
    level_col = _column(table.header, ("severity", "level", "priority", "sev"))
    response_col = _column(table.header, ("response",))
    if level_col is None or response_col is None:
        return
    other = [i for i in range(len(table.header)) if i not in {level_col, response_col}]
    for line, cells in table.rows:
        if level_col >= len(cells):
            continue
        parsed = split_level(cells[level_col])
        if parsed is None:
            continue
        response = cells[response_col] if response_col < len(cells) else ""
        description = "; ".join(cells[i] for i in other if i < len(cells) and cells[i])
        yield Severity(parsed[0], parsed[1], response_seconds(response), line, description)


def _node_severity(node: Node) -> Severity | None:
    parsed = split_level(node.raw_title) if node.parent is not None else None
    if parsed is None:
        return None
    fields: dict[str, str] = {}
    bullets: list[str] = []
    for item in _items(node.elements):
        match = _FIELD.match(item.text.split("\n")[0])
        if match:
            key = (match["bold"] or match["plain"] or "").strip().lower()
            fields[key] = match["value"].strip()
        else:
            bullets.append(item.title)
    response = next((v for k, v in fields.items() if "response" in k), "")
    description = fields.get("definition") or fields.get("description") or "; ".join(bullets)
    if not description and fields.get("examples"):
        description = fields["examples"]
    return Severity(
        parsed[0],
        parsed[1],
        response_seconds(response) if response else None,
        node.line,
        description,
    )


def _items(elements: list[Element]) -> Iterator[Item]:
    for element in elements:
        if isinstance(element, ListBlock):
            yield from element.items


# -- escalation ---------------------------------------------------------------------------
_LADDER_LINE = re.compile(
    r"^\s*(?:[-*]\s*)?(?:L|Level\s*|Tier\s*)(?P<level>\d+)\s*[:.)-]\s*(?P<rest>.+)$", re.I
)
_AFTER = re.compile(
    r"(?P<qty>\d+(?:\.\d+)?)\s*(?P<unit>min(?:ute)?s?|m|h(?:ou)?rs?|hours?|h|s(?:ec(?:ond)?s?)?|d(?:ays?)?)\b",
    re.I,
)


def ladder_from_text(
    text: str, first_line: int
) -> tuple[list[EscalationLevel], list[ParseWarning]]:
    """Levels from `L1: target (after 30 min)` lines; `first_line` is the text's first line."""
    entries: list[tuple[int, str, int]] = []
    for offset, line in enumerate(text.split("\n")):
        match = _LADDER_LINE.match(line)
        if match:
            entries.append((int(match["level"]), match["rest"], first_line + offset))
    return _ladder(entries)


def ladder_from_list(block: ListBlock) -> tuple[list[EscalationLevel], list[ParseWarning]]:
    """Levels from a numbered list: `1. **On-Call Engineer**: Check PagerDuty`."""
    entries = [
        (index, item.text.split("\n")[0], item.line) for index, item in enumerate(block.items, 1)
    ]
    return _ladder(entries)


def _ladder(
    entries: list[tuple[int, str, int]],
) -> tuple[list[EscalationLevel], list[ParseWarning]]:
    levels: list[EscalationLevel] = []
    warnings: list[ParseWarning] = []
    previous = 0.0
    for level, rest, line in entries:
        target, after = _target_and_delay(rest)
        if after is None:
            if levels:
                warnings.append(
                    ParseWarning(
                        line,
                        f"escalation level {level} ({target}) gives no time; it is paged together "
                        f"with level {levels[-1].level}",
                        "escalation-time",
                    )
                )
            after = previous
        previous = after
        levels.append(EscalationLevel(level, target, after, line))
    return levels, warnings


def _target_and_delay(rest: str) -> tuple[str, float | None]:
    text = rest.replace("**", "").strip()
    delay = None
    paren = re.search(r"\(([^)]*)\)", text)
    source = paren[1] if paren else text
    match = (
        _AFTER.search(source)
        if re.search(r"\b(?:after|in|within|resolved|\+)\b|^\s*\d", source)
        else None
    )
    if match:
        try:
            delay = parse_duration(f"{match['qty']}{_unit(match['unit'])}")
        except ValueError:
            delay = None
    target = re.sub(r"\s*\([^)]*\)\s*", " ", text).strip()
    target = target.split(":")[0].strip() if ":" in target else target
    return target, delay


def _unit(unit: str) -> str:
    lowered = unit.lower()
    if lowered.startswith("m"):
        return "m"
    if lowered.startswith("h"):
        return "h"
    if lowered.startswith("d"):
        return "d"
    return "s"
