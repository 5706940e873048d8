"""Splitting a fenced block into steps at its numbered comments.

A block whose lines (at column 0, outside here-documents) read `# 1. Check current status`,
`-- 2. Kill idle connections`, `// 3. ...` or `echo "Step 4: ..."` is split there, each step
titled from its marker. Markers must count up; a repeated number (`# 1. ...` followed by
`echo "Step 1: ..."`) stays in the same step. Lines before the first marker that do something
(not just a shebang or comments) go into the first step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT_MARKER = {
    "#": re.compile(r"^#(?!!)\s*(?:step\s+)?(?P<n>\d{1,3})\s*[.):]\s*(?P<title>\S.*)$", re.I),
    "--": re.compile(r"^--\s*(?:step\s+)?(?P<n>\d{1,3})\s*[.):]\s*(?P<title>\S.*)$", re.I),
    "//": re.compile(r"^//\s*(?:step\s+)?(?P<n>\d{1,3})\s*[.):]\s*(?P<title>\S.*)$", re.I),
}
_ECHO_MARKER = re.compile(
    r"""^echo\s+(?:-e\s+)?["']?[=\s#*>-]*step\s+(?P<n>\d{1,3})\s*[:.)-]\s*(?P<title>[^"']*)""", re.I
)
_HEREDOC = re.compile(r"<<-?\s*(?P<q>['\"]?)(?P<word>[A-Za-z_][\w-]*)(?P=q)")
_TRIVIAL = re.compile(r"^\s*(?:#.*|--.*|//.*)?$")


@dataclass(frozen=True, slots=True)
class Piece:
    """One step's share of a block."""

    title: str  # "" when the block was not split
    code: str
    offset: int  # index of the piece's first line within the block's content
    number: int = 0  # the number its marker gave (0 when unsplit)
    body: str = ""  # the code without its marker line


def comment_leaders(language: str) -> tuple[str, ...]:
    if language == "sql":
        return ("--",)
    if language == "bash":
        return ("#",)
    return ("#", "--", "//")


def split_block(content: str, language: str) -> list[Piece]:
    """The steps of a block: split at numbered markers, or the whole block as one piece."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    markers = _markers(lines, language)
    if not markers:
        code = "\n".join(lines).strip("\n")
        return [Piece("", code, _first_code_line(lines), body=code)]
    pieces: list[Piece] = []
    for index, (marker, number, title) in enumerate(markers):
        end = markers[index + 1][0] if index + 1 < len(markers) else len(lines)
        start = min(marker, _first_code_line(lines[:marker])) if index == 0 else marker
        code = "\n".join(lines[start:end]).rstrip()
        body = "\n".join(lines[start:marker] + lines[marker + 1 : end]).rstrip()
        pieces.append(Piece(title, code, start, number, body))
    return pieces


def comment_text(code: str, language: str) -> str | None:
    """The prose of a piece made only of comments (leaders removed), or None if it has code."""
    leaders = comment_leaders(language)
    prose: list[str] = []
    for line in code.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        leader = next((lead for lead in leaders if stripped.startswith(lead)), None)
        if leader is None:
            return None
        prose.append(stripped[len(leader) :].strip())
    return "\n".join(prose)


def _first_code_line(lines: list[str]) -> int:
    """Index of the first line that does something; len(lines) when there is none."""
    return next((i for i, line in enumerate(lines) if not _TRIVIAL.match(line)), len(lines))


def _markers(lines: list[str], language: str) -> list[tuple[int, int, str]]:
    leaders = comment_leaders(language)
    comments: list[tuple[int, int, str]] = []
    echoes: list[tuple[int, int, str]] = []
    heredoc: str | None = None
    for index, line in enumerate(lines):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        for leader in leaders:
            match = _COMMENT_MARKER[leader].match(line) if line.startswith(leader) else None
            if match:
                comments.append((index, int(match["n"]), _title(match["title"])))
                break
        if language == "bash":
            echo = _ECHO_MARKER.match(line)
            if echo and echo["title"].strip():
                echoes.append((index, int(echo["n"]), _title(echo["title"])))
            found = _HEREDOC.search(line.split(" #")[0])
            if found and "<<<" not in line:
                heredoc = found["word"]
    return _counting_up(comments or echoes)


def _counting_up(markers: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for marker in markers:
        if not kept or marker[1] > kept[-1][1]:
            kept.append(marker)
    return kept if len(kept) >= 1 else []


def _title(text: str) -> str:
    return text.strip().rstrip(".:…").strip().strip("=").strip()
