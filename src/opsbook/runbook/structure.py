"""The heading tree: sections with GitHub anchors, and bold labels as small sub-headings.

Runbooks use `**Symptoms:**` or `**High Error Rate**` on a line of their own as headings. Such a
label opens a node under the current heading; a label whose title is a part role ("Diagnosis",
"Solution") nests under the label before it, so `**High Error Rate**` followed by `**Fix:**`
reads as a procedure with a fix part. Labels are not sections (they have no anchor on GitHub);
their slugs are made so they never take a heading's anchor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from opsbook.runbook.document import Element, Heading, Label, Paragraph
from opsbook.runbook.model import Section
from opsbook.runbook.roles import part_role
from opsbook.runbook.slug import clean_title, github_slug


@dataclass(eq=False, slots=True)
class Node:
    title: str  # cleaned: no numbering, no emoji
    raw_title: str
    level: float  # heading level; labels sit between levels
    line: int
    slug: str = ""
    is_label: bool = False
    role: str | None = None
    parent: Node | None = None
    elements: list[Element] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    @property
    def is_part(self) -> bool:
        """A role-named node under a real one: a part of that node's procedure."""
        return self.role is not None and self.parent is not None and self.parent.parent is not None

    @property
    def section_slug(self) -> str:
        """Slug of the nearest real heading at or above this node."""
        node: Node | None = self
        while node is not None and node.is_label:
            node = node.parent
        return node.slug if node is not None else ""

    def path(self) -> list[str]:
        titles: list[str] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            titles.append(node.title)
            node = node.parent
        return titles[::-1]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def subtree_elements(self) -> Iterator[Element]:
        yield from self.elements
        for child in self.children:
            yield from child.subtree_elements()


def build_tree(elements: list[Element], title: str) -> Node:
    """The node tree of a runbook; the root holds what comes before the first heading."""
    root = Node(title=title, raw_title=title, level=0, line=1)
    stack = [root]
    slugs = _Slugs()
    for element in elements:
        if isinstance(element, Heading):
            level = float(element.level)
            node = _open(stack, level, element.title, element.line, is_label=False)
            node.slug = slugs.add(element.title)
        elif isinstance(element, Label) and _is_label_heading(element):
            base = max(float(int(n.level)) for n in stack if not n.is_label)
            role = part_role(element.text)
            level = base + (0.7 if role else 0.5)
            node = _open(stack, level, element.text, element.line, is_label=True)
            if element.rest:
                node.elements.append(Paragraph(element.rest, element.line))
        else:
            stack[-1].elements.append(element)
    _label_slugs(root, slugs)
    return root


def _is_label_heading(label: Label) -> bool:
    return not label.rest or part_role(label.text) is not None


def _open(stack: list[Node], level: float, raw: str, line: int, *, is_label: bool) -> Node:
    while len(stack) > 1 and stack[-1].level >= level:
        stack.pop()
    parent = stack[-1]
    node = Node(
        title=clean_title(raw) or raw.strip() or "Untitled",
        raw_title=raw,
        level=level,
        line=line,
        is_label=is_label,
        role=part_role(raw),
        parent=parent,
    )
    parent.children.append(node)
    stack.append(node)
    return node


class _Slugs:
    """GitHub's anchors: repeats get -1, -2, ... (a suffixed anchor may itself be taken).

    The next suffix of each base is remembered, so a file with thousands of "Overview"
    headings still takes linear time.
    """

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.next_suffix: dict[str, int] = {}

    def add(self, title: str) -> str:
        base = github_slug(title)
        slug, n = base, self.next_suffix.get(base, 0)
        if n:
            slug = f"{base}-{n}"
        while slug in self.taken:
            n += 1
            slug = f"{base}-{n}"
        self.next_suffix[base] = n + 1
        self.taken.add(slug)
        return slug


def _label_slugs(root: Node, slugs: _Slugs) -> None:
    for node in root.walk():
        if node.is_label:
            node.slug = slugs.add(node.title)


def sections_of(root: Node) -> tuple[Section, ...]:
    """The heading tree as `Section`s, in document order."""
    out: list[Section] = []
    for node in root.walk():
        if node.parent is None or node.is_label:
            continue
        parent: Node | None = node.parent
        while parent is not None and parent.is_label:
            parent = parent.parent
        out.append(
            Section(
                title=node.title,
                slug=node.slug,
                level=int(node.level),
                line=node.line,
                parent=parent.slug if parent is not None and parent.parent is not None else None,
            )
        )
    return tuple(out)
