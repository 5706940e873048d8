"""Markdown runbook to `Runbook`: the parser's entry points.

    parse_file(path) -> Runbook     bytes decoded as UTF-8; RunbookError (exit 2) when they are not
    parse_text(text, source) -> Runbook

The text is read once by markdown-it-py; the token stream becomes elements (document.py), the
elements a tree of headings and labels (structure.py), every fenced block gets its role
(roles.py), procedures and steps are built from the tree (procedures.py), and the rest of the
runbook (alert rules, schedules, thresholds, severities, escalation, templates, checklists and
variables) is extracted from it (extract.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from opsbook.errors import NotFoundError, RunbookError, SourceRef
from opsbook.runbook.decode import decode_bytes, normalize_newlines, repair_mojibake
from opsbook.runbook.document import Element, Fence, Heading, ListBlock, read_elements
from opsbook.runbook.extract import extract
from opsbook.runbook.model import Block, BlockRole, ParseWarning, Runbook
from opsbook.runbook.procedures import build_procedures
from opsbook.runbook.roles import classify_block
from opsbook.runbook.structure import Node, build_tree, sections_of


def parse_file(path: str | Path) -> Runbook:
    """The runbook in the file at `path`. Raises RunbookError for bytes that are not text."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"{source}: no such file") from exc
    except IsADirectoryError as exc:
        raise RunbookError("is a directory, not a runbook", source=SourceRef(source)) from exc
    except OSError as exc:
        raise RunbookError(f"cannot read: {exc.strerror or exc}", source=SourceRef(source)) from exc
    decoded = decode_bytes(data, source)
    digest = hashlib.sha256(data).hexdigest()
    return _parse(decoded.text, source, digest, decoded.warnings)


def parse_text(text: str, source: str = "<text>") -> Runbook:
    """The runbook in `text` (mojibake is repaired here too). `source` names it in messages."""
    decoded = repair_mojibake(text)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _parse(decoded.text, source, digest, decoded.warnings)


def _parse(text: str, source: str, digest: str, warnings: tuple[ParseWarning, ...]) -> Runbook:
    text = normalize_newlines(text)
    elements = read_elements(text)
    title = _title(elements, source)
    root = build_tree(elements, title)
    placed = list(_fences_by_node(root))
    roles = {
        id(fence): classify_block(fence.info.language, fence.content, fence.info.attrs, node.path())
        for fence, node in placed
    }
    blocks = tuple(
        Block(
            line=fence.line,
            end_line=fence.end_line,
            language=fence.info.language,
            role=roles[id(fence)],
            content=fence.content,
            section=node.section_slug,
            attrs=dict(fence.info.attrs),
        )
        for fence, node in placed
    )
    procedures = build_procedures(root, lambda fence: roles.get(id(fence), BlockRole.TEXT))
    extracted = extract(root, placed, roles, procedures)
    all_warnings = (*warnings, *_fence_warnings(placed), *extracted.warnings)
    return Runbook(
        title=title,
        source=source,
        sha256=digest,
        sections=sections_of(root),
        procedures=procedures,
        blocks=blocks,
        alert_rules=extracted.alert_rules,
        schedules=extracted.schedules,
        thresholds=extracted.thresholds,
        severities=extracted.severities,
        escalation=extracted.escalation,
        templates=extracted.templates,
        checklists=extracted.checklists,
        variables=extracted.variables,
        warnings=tuple(sorted(all_warnings, key=lambda w: w.line)),
    )


def _title(elements: list[Element], source: str) -> str:
    from opsbook.runbook.slug import clean_title

    headings = [e for e in elements if isinstance(e, Heading)]
    first = next((h for h in headings if h.level == 1), headings[0] if headings else None)
    if first is not None and clean_title(first.title):
        return clean_title(first.title)
    stem = Path(source).stem if source and not source.startswith("<") else ""
    return stem.replace("_", " ").replace("-", " ").strip() or "Untitled runbook"


def _fences_by_node(root: Node) -> Iterator[tuple[Fence, Node]]:
    """Every fenced block with the node it sits in, each once, in document order."""
    found: dict[int, tuple[Fence, Node]] = {}
    for node in root.walk():
        for element in node.elements:
            for fence in _fences_in(element):
                found.setdefault(id(fence), (fence, node))
    yield from sorted(found.values(), key=lambda pair: pair[0].line)


def _fences_in(element: Element) -> Iterator[Fence]:
    if isinstance(element, Fence):
        yield element
    elif isinstance(element, ListBlock):
        for item in element.items:
            yield from item.fences


def _fence_warnings(placed: list[tuple[Fence, Node]]) -> Iterator[ParseWarning]:
    for fence, _ in placed:
        if fence.fenced and not fence.closed:
            yield ParseWarning(
                fence.line,
                "this block is never closed, so it runs to the end of the file; "
                "add the closing fence",
                code="unclosed-fence",
            )
