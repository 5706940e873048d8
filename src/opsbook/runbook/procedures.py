"""Procedures, their parts and their steps, built from the node tree.

A node (a heading or a bold label) is a procedure when its content, or the content of its
role-named parts, holds something opsbook can run: a shell, SQL or opsbook block, or a checklist.
Its parts are its own content (role "procedure") followed by each role-named child ("Symptoms",
"Diagnostic Steps", "Resolution", ...), whose whole subtree belongs to the part.

Inside a part, steps come from fenced blocks (split at numbered comments), from numbered list
items that hold code (or are directly followed by a block), from task-list items (checklist
steps), and from the other items of numbered lists in parts that are not descriptive (manual
steps, which the operator does and confirms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from opsbook.runbook.analyze import Analysis, analyze_shell, analyze_sql
from opsbook.runbook.document import Element, Fence, Item, Label, ListBlock, Paragraph, Table
from opsbook.runbook.info import is_false
from opsbook.runbook.model import BlockRole, Part, Procedure, Step, StepKind
from opsbook.runbook.roles import DESCRIPTIVE_ROLES
from opsbook.runbook.steps import Piece, comment_text, split_block
from opsbook.runbook.structure import Node

RoleOf = Callable[[Fence], BlockRole]
_RUNNABLE_KINDS = frozenset({StepKind.SHELL, StepKind.SQL, StepKind.OPSBOOK, StepKind.CHECKLIST})
_KIND_BY_LANGUAGE = {"bash": StepKind.SHELL, "sql": StepKind.SQL, "opsbook": StepKind.OPSBOOK}


def build_procedures(root: Node, role_of: RoleOf) -> tuple[Procedure, ...]:
    """Every procedure of the tree, in document order."""
    return tuple(_procedures(root, role_of))


def _procedures(node: Node, role_of: RoleOf) -> Iterator[Procedure]:
    procedure = _procedure(node, role_of)
    if procedure is not None:
        yield procedure
    for child in node.children:
        if not child.is_part:
            yield from _procedures(child, role_of)


def _procedure(node: Node, role_of: RoleOf) -> Procedure | None:
    parts: list[Part] = []
    own = _PartBuilder(node, node.title, role_of, own=True).build(node.elements)
    if own.steps:
        parts.append(own)
    elif own.text:
        parts.append(replace(own, role="overview"))
    for child in node.children:
        if child.is_part:
            builder = _PartBuilder(child, node.title, role_of, own=False)
            parts.append(builder.build(list(child.subtree_elements())))
    if not any(step.kind in _RUNNABLE_KINDS for part in parts for step in part.steps):
        return None
    parent = node.parent
    return Procedure(
        title=node.title,
        slug=node.slug,
        line=node.line,
        level=int(node.level) if not node.is_label else int(_heading_level(node)) + 1,
        parts=tuple(parts),
        section=parent.section_slug if parent is not None else "",
    )


def _heading_level(node: Node) -> float:
    current: Node | None = node
    while current is not None and current.is_label:
        current = current.parent
    return current.level if current is not None else 0


@dataclass(slots=True)
class _Draft:
    kind: StepKind
    title: str
    language: str = ""
    code: str = ""
    line: int = 0
    block_line: int = 0
    attrs: dict[str, str] | None = None
    text: str = ""


class _PartBuilder:
    def __init__(self, node: Node, procedure_title: str, role_of: RoleOf, *, own: bool) -> None:
        self.node = node
        self.role = "procedure" if own else (node.role or "procedure")
        self.title = node.title
        self.default_title = procedure_title if own else node.title
        self.role_of = role_of
        self.drafts: list[_Draft] = []
        self.text: list[str] = []
        self.unsplit_titles: dict[str, int] = {}
        self.trailing: dict[int, list[Fence]] = {}

    def build(self, elements: list[Element]) -> Part:
        kept, self.trailing = attach_trailing_fences(elements)
        for element in kept:
            if isinstance(element, Fence):
                self._fence(element, self.default_title)
            elif isinstance(element, ListBlock):
                self._list(element)
            elif isinstance(element, Paragraph):
                self.text.append(element.text)
            elif isinstance(element, Label):
                self.text.append(
                    f"**{element.text}**" + (f": {element.rest}" if element.rest else "")
                )
            elif isinstance(element, Table):
                self.text.append(" | ".join(element.header))
        steps = tuple(
            _step(draft, number, self.title) for number, draft in enumerate(self.drafts, 1)
        )
        return Part(
            role=self.role,
            title=self.title,
            slug=self.node.slug,
            line=self.node.line,
            steps=steps,
            text="\n\n".join(t for t in self.text if t.strip()),
        )

    def _fence(self, fence: Fence, title: str, *, in_item: bool = False) -> None:
        language = fence.info.language
        kind = _step_kind(self.role_of(fence), language, in_item=in_item)
        if kind is None:
            return
        attrs = fence.info.attrs
        split = kind != StepKind.REFERENCE and not is_false(attrs.get("split"))
        pieces = split_block(fence.content, language) if split else []
        if len(pieces) < 2 and not (pieces and pieces[0].title):
            code = fence.content.rstrip("\n")
            title = self._unsplit_title(attrs.get("title") or title)
            self.drafts.append(
                _Draft(kind, title, language, code, fence.line + 1, fence.line, dict(attrs))
            )
            return
        for index, piece in enumerate(pieces, 1):
            self.drafts.append(
                _piece_draft(kind, fence, piece, index=index, count=len(pieces), title=title)
            )

    def _unsplit_title(self, title: str) -> str:
        count = self.unsplit_titles.get(title, 0) + 1
        self.unsplit_titles[title] = count
        return title if count == 1 else f"{title} ({count})"

    def _list(self, block: ListBlock) -> None:
        for item in block.items:
            if _has_tasks(item):
                self._checklist(item)
            elif item.fences or id(item) in self.trailing:
                for fence in [*item.fences, *self.trailing.get(id(item), [])]:
                    self._fence(fence, item.title or self.default_title, in_item=True)
            elif block.ordered and self.role not in DESCRIPTIVE_ROLES:
                self.drafts.append(
                    _Draft(StepKind.MANUAL, item.title or item.text, line=item.line, text=item.text)
                )
            else:
                self.text.append(("1. " if block.ordered else "- ") + item.text)

    def _checklist(self, item: Item) -> None:
        for task in _task_items(item):
            attrs = {"checked": "true"} if task.checked else {}
            text = _strip_box(task.text)
            self.drafts.append(
                _Draft(
                    StepKind.CHECKLIST, task.title or text, line=task.line, attrs=attrs, text=text
                )
            )
        for fence in item.fences:
            self._fence(fence, item.title or self.default_title, in_item=True)


def _step_kind(role: BlockRole, language: str, *, in_item: bool) -> StepKind | None:
    if role == BlockRole.STEPS and language in _KIND_BY_LANGUAGE:
        return _KIND_BY_LANGUAGE[language]
    if role == BlockRole.REFERENCE and in_item:
        return StepKind.REFERENCE
    return None


def _piece_draft(
    kind: StepKind, fence: Fence, piece: Piece, *, index: int, count: int, title: str
) -> _Draft:
    """The draft of one piece of a split block; a piece of comments only is a manual step."""
    attrs = dict(fence.info.attrs)
    if "name" in attrs and count > 1:
        attrs["name"] = f"{attrs['name']}-{index}"
    line = fence.line + 1 + piece.offset
    language = fence.info.language
    prose = comment_text(piece.body, language)
    if prose is not None:
        return _Draft(
            StepKind.MANUAL,
            piece.title or title,
            language,
            piece.code,
            line,
            fence.line,
            attrs,
            prose,
        )
    return _Draft(kind, piece.title or title, language, piece.code, line, fence.line, attrs)


def _step(draft: _Draft, number: int, part: str) -> Step:
    analysis = _analysis(draft.kind, draft.code)
    return Step(
        number=number,
        title=draft.title,
        kind=draft.kind,
        language=draft.language,
        code=draft.code,
        line=draft.line,
        part=part,
        variables=analysis.variables,
        tools=analysis.tools,
        danger=analysis.danger,
        interactive=analysis.interactive,
        parameters=analysis.parameters,
        attrs=draft.attrs or {},
        block_line=draft.block_line,
        assigns=analysis.assigns,
        text=draft.text,
    )


def _analysis(kind: StepKind, code: str) -> Analysis:
    if kind == StepKind.SHELL:
        return analyze_shell(code)
    if kind == StepKind.SQL:
        return analyze_sql(code)
    return Analysis()


def attach_trailing_fences(
    elements: list[Element],
) -> tuple[list[Element], dict[int, list[Fence]]]:
    """A block right after a numbered list whose last item has no code belongs to that item.

    Runbooks often write `1. **Check X**` and put the block at column 0 below it, which
    CommonMark reads as a list followed by a block. Returns the other elements, and the blocks
    taken by each item (keyed by the item's id).
    """
    out: list[Element] = []
    taken: dict[int, list[Fence]] = {}
    target: Item | None = None
    for element in elements:
        if isinstance(element, ListBlock):
            last = element.items[-1] if element.items else None
            target = last if element.ordered and last is not None and not last.fences else None
            out.append(element)
        elif isinstance(element, Fence) and target is not None:
            taken.setdefault(id(target), []).append(element)
        else:
            target = None
            out.append(element)
    return out, taken


def _has_tasks(item: Item) -> bool:
    return item.checked is not None or any(
        sub.checked is not None or _has_tasks(sub) for lst in item.lists for sub in lst.items
    )


def _task_items(item: Item) -> Iterator[Item]:
    if item.checked is not None:
        yield item
    for lst in item.lists:
        for sub in lst.items:
            yield from _task_items(sub)


def _strip_box(text: str) -> str:
    stripped = text.lstrip()
    if stripped[:3].lower() in {"[ ]", "[x]"}:
        return stripped[3:].strip()
    return stripped
