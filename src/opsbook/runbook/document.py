"""markdown-it-py tokens to a flat list of the elements a runbook is made of.

The parser reads the Markdown once with markdown-it-py (CommonMark, GFM tables, task lists) and
turns the token stream into headings, bold labels (`**Symptoms:**` on a line of its own, which
runbooks use as small headings), paragraphs, fenced blocks, lists (with their items' fences,
nested lists and task boxes) and tables, each with its 1-based source line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

from opsbook.runbook.info import Info, parse_info


@dataclass(slots=True)
class Heading:
    level: int
    title: str  # plain text as written (numbering and emoji still in)
    line: int


@dataclass(slots=True)
class Label:
    """A paragraph that starts with bold text: `**Diagnosis**:` or `**Symptoms**: timeouts`."""

    text: str  # the bold text without a trailing colon
    rest: str  # what follows it in the paragraph ("" for a label on its own)
    line: int


@dataclass(slots=True)
class Paragraph:
    text: str  # the paragraph's Markdown source
    line: int


@dataclass(slots=True)
class Fence:
    info: Info
    content: str
    line: int  # line of the opening fence
    end_line: int  # line of the closing fence (or the last line when unclosed)
    closed: bool = True
    fenced: bool = True  # False for an indented code block


@dataclass(slots=True)
class Item:
    number: int | None  # for ordered lists
    title: str  # plain text of the item's first paragraph
    text: str  # the item's Markdown source, without its marker
    line: int
    end_line: int
    checked: bool | None = None  # task items: False for "[ ]", True for "[x]"
    fences: list[Fence] = field(default_factory=list)  # every fence inside, at any depth
    lists: list[ListBlock] = field(default_factory=list)  # nested lists


@dataclass(slots=True)
class ListBlock:
    ordered: bool
    items: list[Item]
    line: int
    end_line: int


@dataclass(slots=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line, cells)
    line: int


Element = Heading | Label | Paragraph | Fence | ListBlock | Table

_MD = MarkdownIt("commonmark").enable("table").use(tasklists_plugin)
_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])[ \t]?")
_CONTAINERS = {"bullet_list_open", "ordered_list_open", "blockquote_open", "table_open"}


def tokenize(text: str) -> list[Token]:
    """markdown-it-py's tokens for `text`, with tables and task lists."""
    return _MD.parse(text)


def read_elements(text: str, tokens: Sequence[Token] | None = None) -> list[Element]:
    """The runbook's elements in document order."""
    tokens = tokenize(text) if tokens is None else tokens
    reader = _Reader(tokens, text.split("\n"))
    out: list[Element] = []
    reader.walk(0, len(tokens), out)
    return out


def plain_text(inline: Token) -> str:
    """The text of an inline token without Markdown markup (code spans keep their text)."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
    return "".join(parts).strip()


class _Reader:
    def __init__(self, tokens: Sequence[Token], lines: list[str]) -> None:
        self.tokens = tokens
        self.lines = lines
        self.close = _matching_closes(tokens)

    def walk(self, start: int, end: int, out: list[Element]) -> None:
        i = start
        while i < end:
            token = self.tokens[i]
            kind = token.type
            if kind == "heading_open":
                out.append(self._heading(i))
                i += 3
                continue
            if kind == "paragraph_open":
                out.append(self._paragraph(i))
                i += 3
                continue
            if kind in {"fence", "code_block"}:
                out.append(self._fence(token))
            elif kind in {"bullet_list_open", "ordered_list_open"}:
                out.append(self._list(i))
                i = self.close[i]
            elif kind == "table_open":
                out.append(self._table(i))
                i = self.close[i]
            # blockquotes are read as if their content stood in the document
            i += 1

    def _heading(self, i: int) -> Heading:
        token = self.tokens[i]
        return Heading(int(token.tag[1:]), plain_text(self.tokens[i + 1]), _line(token))

    def _paragraph(self, i: int) -> Label | Paragraph:
        inline = self.tokens[i + 1]
        line = _line(self.tokens[i])
        label = _label(inline)
        if label is not None:
            text, rest = label
            return Label(text, rest, line)
        return Paragraph(inline.content, line)

    def _fence(self, token: Token) -> Fence:
        start, stop = token.map or (0, 1)
        if token.type == "code_block":
            return Fence(parse_info(""), token.content, start + 1, stop, fenced=False)
        last = self.lines[stop - 1].strip() if 0 < stop <= len(self.lines) else ""
        closed = (
            stop - start >= 2 and last.startswith(token.markup) and not last.strip(token.markup[0])
        )
        return Fence(parse_info(token.info), token.content, start + 1, stop, closed=closed)

    def _list(self, i: int) -> ListBlock:
        token = self.tokens[i]
        end = self.close[i]
        items: list[Item] = []
        j = i + 1
        while j < end:
            if self.tokens[j].type == "list_item_open":
                items.append(self._item(j))
                j = self.close[j]
            j += 1
        start, stop = token.map or (0, 1)
        return ListBlock(token.type == "ordered_list_open", items, start + 1, stop)

    def _item(self, i: int) -> Item:
        token = self.tokens[i]
        end = self.close[i]
        start, stop = token.map or (0, 1)
        number = int(token.info) if token.info.isdigit() else None
        item = Item(number, "", self._item_text(start, stop), start + 1, stop)
        j = i + 1
        while j < end:
            child = self.tokens[j]
            if child.type == "inline" and not item.title:
                item.title = plain_text(child)
                item.checked = _checkbox(child)
            elif child.type == "fence":
                item.fences.append(self._fence(child))
            elif child.type in {"bullet_list_open", "ordered_list_open"}:
                nested = self._list(j)
                item.lists.append(nested)
                item.fences.extend(f for sub in nested.items for f in sub.fences)
                j = self.close[j]
            j += 1
        return item

    def _item_text(self, start: int, stop: int) -> str:
        lines = self.lines[start:stop]
        if not lines:
            return ""
        first = _MARKER.sub("", lines[0], count=1)
        return "\n".join([first, *lines[1:]]).strip()

    def _table(self, i: int) -> Table:
        end = self.close[i]
        header: list[str] = []
        rows: list[tuple[int, list[str]]] = []
        cells: list[str] = []
        row_line = 0
        in_head = False
        for j in range(i + 1, end):
            token = self.tokens[j]
            if token.type == "thead_open":
                in_head = True
            elif token.type == "thead_close":
                in_head = False
            elif token.type == "tr_open":
                cells, row_line = [], _line(token)
            elif token.type == "inline":
                cells.append(plain_text(token))
            elif token.type == "tr_close":
                if in_head:
                    header = cells
                else:
                    rows.append((row_line, cells))
        return Table(header, rows, _line(self.tokens[i]))


def _matching_closes(tokens: Sequence[Token]) -> dict[int, int]:
    closes: dict[int, int] = {}
    stack: list[int] = []
    for index, token in enumerate(tokens):
        if token.nesting == 1:
            stack.append(index)
        elif token.nesting == -1 and stack:
            closes[stack.pop()] = index
    return closes


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 0


def _label(inline: Token) -> tuple[str, str] | None:
    children = [c for c in inline.children or () if not (c.type == "text" and not c.content)]
    if len(children) < 3 or children[0].type != "strong_open":
        return None
    try:
        close = next(n for n, c in enumerate(children) if c.type == "strong_close")
    except StopIteration:
        return None
    inner = "".join(c.content for c in children[1:close] if c.type in {"text", "code_inline"})
    rest_parts: list[str] = []
    for child in children[close + 1 :]:
        if child.type in {"softbreak", "hardbreak"}:
            rest_parts.append("\n")
        else:
            rest_parts.append(
                child.content
                if child.type != "code_inline"
                else child.markup + child.content + child.markup
            )
    rest = "".join(rest_parts).strip()
    text = inner.strip()
    if rest.startswith(":"):
        rest = rest[1:].strip()
    text = text.rstrip(":").strip()
    return (text, rest) if text else None


def _checkbox(inline: Token) -> bool | None:
    children = inline.children or ()
    if (
        children
        and children[0].type == "html_inline"
        and "task-list-item-checkbox" in children[0].content
    ):
        return 'checked="checked"' in children[0].content
    return None
