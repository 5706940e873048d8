"""A step's output on its way to the terminal and the store: decoded, masked, capped.

`OutputMasker` turns raw bytes into text one line at a time (a secret is never split across two
pieces, so the redactor always sees it whole), without terminal control sequences.
`OutputKeeper` decides what is stored: everything up to half the limit (the head), then a
sliding window of the last half (the tail); what falls out of the window is deleted again, so a
step that prints forever keeps a bounded record and followers still see it live.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# CSI/OSC and other escape sequences; colour codes go too: the record is plain text.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PARTIAL_LINE_LIMIT = 8192  # a line longer than this is passed on in pieces
CHUNK_LIMIT = 8192  # the largest piece stored in one row


def clean_text(text: str) -> str:
    """`text` without escape sequences and control characters (tabs and newlines stay)."""
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


class OutputMasker:
    """Bytes in, masked text out through `emit`, a whole line at a time."""

    def __init__(self, redact: Callable[[str], str], emit: Callable[[str], None]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._redact = redact
        self._emit = emit
        self._partial = ""
        self.total_bytes = 0

    def feed(self, data: bytes) -> None:
        self.total_bytes += len(data)
        text = self._partial + self._decoder.decode(data)
        end = text.rfind("\n") + 1
        if end == 0 and len(text) < PARTIAL_LINE_LIMIT:
            self._partial = text
            return
        if end == 0:
            end = len(text)
        self._partial = text[end:]
        self._send(text[:end])

    def feed_text(self, text: str) -> None:
        """Text produced by opsbook itself (SQL result tables, action output)."""
        self.feed(text.encode("utf-8"))

    def close(self) -> None:
        """Pass on what is left of an unfinished last line."""
        rest = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        if rest:
            self._send(rest)

    def _send(self, text: str) -> None:
        cleaned = clean_text(self._redact(text))
        if cleaned:
            self._emit(cleaned)


@dataclass
class Chunk:
    offset: int  # position of the chunk's first character in the step's whole output
    text: str


@dataclass
class KeeperFlush:
    inserts: list[Chunk] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)  # offsets of stored chunks to drop


class OutputKeeper:
    """Keeps the first `limit / 2` characters and a sliding window of the last `limit / 2`."""

    def __init__(self, limit: int) -> None:
        self.head_limit = max(1, limit // 2)
        self.tail_limit = max(1, limit - self.head_limit)
        self.size = 0  # characters seen
        self._head_used = 0
        self._pending: list[Chunk] = []
        self._tail: deque[tuple[int, int, bool]] = deque()  # (offset, size, stored)
        self._tail_size = 0

    def add(self, text: str) -> None:
        if self._head_used < self.head_limit:
            room = self.head_limit - self._head_used
            head, text = text[:room], text[room:]
            self._queue(head, tail=False)
            self._head_used += len(head)
        if text:
            self._queue(text, tail=True)

    @property
    def truncated(self) -> bool:
        return self.size > self._head_used + self._tail_size

    def flush(self) -> KeeperFlush:
        """What to write now: new chunks, and stored tail chunks that fell out of the window."""
        result = KeeperFlush()
        dropped: set[int] = set()
        while self._tail and self._tail_size - self._tail[0][1] >= self.tail_limit:
            offset, size, stored = self._tail.popleft()
            self._tail_size -= size
            if stored:
                result.deletes.append(offset)
            dropped.add(offset)
        result.inserts = [c for c in self._pending if c.offset not in dropped]
        self._pending = []
        self._tail = deque((o, s, True) for o, s, _ in self._tail)
        return result

    def _queue(self, text: str, *, tail: bool) -> None:
        # Small tail pieces keep the window close to its limit when old pieces fall out.
        size = max(64, min(CHUNK_LIMIT, self.tail_limit // 8)) if tail else CHUNK_LIMIT
        for start in range(0, len(text), size):
            piece = text[start : start + size]
            self._pending.append(Chunk(self.size, piece))
            if tail:
                self._tail.append((self.size, len(piece), False))
                self._tail_size += len(piece)
            self.size += len(piece)


def join_chunks(chunks: list[Chunk]) -> str:
    """The kept output, with a marker where characters were left out."""
    parts: list[str] = []
    expected = 0
    for chunk in chunks:
        if chunk.offset > expected:
            gap = chunk.offset - expected
            parts.append(f"\n[… {gap} characters of output not kept …]\n")
        parts.append(chunk.text)
        expected = chunk.offset + len(chunk.text)
    return "".join(parts)


def last_error_line(text: str) -> str:
    """The line that best says why a command failed: the last error-looking line, else the last."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"\b(?:ERROR|FATAL|PANIC|[Ee]rror|[Ff]ailed|[Nn]ot found)\b", line):
            return line[:500]
    return lines[-1][:500] if lines else ""
