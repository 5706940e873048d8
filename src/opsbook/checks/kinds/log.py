"""`log`: follow a log file; count new lines, lines matching named patterns, and HTTP statuses.

Reading is incremental: the offset, the file's identity (device, inode) and the running counts
are the check's cursor, kept in the store, so a restart neither re-counts nor skips lines. When
the file is rotated (renamed away) the rest of the old file is read first, found by its inode
next to the log (`app.log.1`, `app.log-20260105`); a file truncated in place is read from the top.
Only complete lines are counted; a half-written last line waits for the next run.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import LogCheck

_STATUS = re.compile(rb'"[^"]*" (\d)\d\d\b')  # common / combined: "GET / HTTP/1.1" 503 ...
CODE_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass
class LogCursor:
    host: str
    dev: int
    ino: int
    offset: int
    lines: int = 0
    rotations: int = 0
    matches: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogCursor | None:
        try:
            return cls(**data)
        except TypeError:
            return None  # a cursor from another version: start over


@dataclass
class Counts:
    lines: int = 0
    matches: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)


def follow(
    path: Path, cursor: LogCursor | None, start_at: str, max_read: int
) -> tuple[bytes, LogCursor]:
    """The complete new lines of `path` since `cursor` (at most about `max_read` bytes)."""
    host = socket.gethostname()
    stat = _stat(path)
    if cursor is None or cursor.host != host:
        if stat is None:
            raise FileNotFoundError(f"log file not found: {path}")
        offset = stat.st_size if start_at == "end" else 0
        cursor = LogCursor(host, stat.st_dev, stat.st_ino, offset)
    data = b""
    if stat is None or (stat.st_dev, stat.st_ino) != (cursor.dev, cursor.ino):
        old = _find_rotated(path, cursor.dev, cursor.ino)
        if old is not None:
            data, finished = _read(old, cursor.offset, max_read, final=True)
            cursor.offset += len(data)
            if not finished:
                return data, cursor
        if stat is None:
            return data, cursor  # rotated, the new file not there yet
        cursor.dev, cursor.ino, cursor.offset = stat.st_dev, stat.st_ino, 0
        cursor.rotations += 1
    elif stat.st_size < cursor.offset:
        cursor.offset = 0  # truncated in place (copytruncate)
        cursor.rotations += 1
    chunk, _ = _read(path, cursor.offset, max(0, max_read - len(data)), final=False)
    cursor.offset += len(chunk)
    return data + chunk, cursor


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _find_rotated(path: Path, dev: int, ino: int) -> Path | None:
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return None
    for candidate in siblings:
        if candidate.name.startswith(path.name) and candidate != path:
            stat = _stat(candidate)
            if stat is not None and (stat.st_dev, stat.st_ino) == (dev, ino):
                return candidate
    return None


def _read(path: Path, offset: int, limit: int, *, final: bool) -> tuple[bytes, bool]:
    """Bytes from `offset`: whole lines only unless `final`; and whether the end was reached."""
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(limit)
        at_end = not handle.read(1)
    if final and at_end:
        return data, True
    cut = data.rfind(b"\n") + 1
    if cut == 0 and len(data) >= limit > 0:
        return data, False  # one line longer than max_read: take it as it is
    return data[:cut], at_end and cut == len(data)


def count(data: bytes, patterns: dict[str, re.Pattern[str]], access_log: bool) -> Counts:
    counts = Counts(matches=dict.fromkeys(patterns, 0))
    for raw in data.splitlines():
        counts.lines += 1
        line = raw.decode(errors="replace")
        for name, pattern in patterns.items():
            if pattern.search(line):
                counts.matches[name] += 1
        if access_log:
            status = _STATUS.search(raw)
            if status:
                key = f"{status[1].decode()}xx"
                counts.codes[key] = counts.codes.get(key, 0) + 1
    return counts


async def probe(spec: LogCheck, ctx: ProbeContext, obs: Observation) -> None:
    path = ctx.config.resolve_path(spec.path)
    previous = LogCursor.from_dict(obs.previous) if obs.previous else None
    data, cursor = await asyncio.to_thread(
        follow, path, previous, spec.start_at, int(spec.max_read)
    )
    patterns = {name: re.compile(text) for name, text in spec.patterns.items()}
    new = await asyncio.to_thread(count, data, patterns, spec.access_log)
    cursor.lines += new.lines
    for name in patterns:
        cursor.matches[name] = cursor.matches.get(name, 0) + new.matches[name]
    for key, value in new.codes.items():
        cursor.codes[key] = cursor.codes.get(key, 0) + value
    obs.cursor = asdict(cursor)
    _record(spec, cursor, new, obs)


def _record(spec: LogCheck, cursor: LogCursor, new: Counts, obs: Observation) -> None:
    obs.add("log_lines_total", cursor.lines)
    obs.add("log_rotations_total", cursor.rotations)
    for name in spec.patterns:
        obs.add("log_matches_total", cursor.matches[name], pattern=name)
        limit = spec.max_matches.get(name)
        if limit is not None and new.matches[name] >= limit:
            obs.fail(f"{new.matches[name]} new lines match {name} (limit {limit})")
    if not spec.access_log:
        return
    for key in CODE_CLASSES:
        obs.add("log_http_responses_total", cursor.codes.get(key, 0), code=key)
    requests = sum(new.codes.values())
    if requests:
        ratio = new.codes.get("5xx", 0) / requests
        obs.add("log_http_5xx_ratio", ratio)
        if spec.max_5xx_ratio is not None and ratio > spec.max_5xx_ratio:
            obs.fail(f"{ratio:.1%} of {requests} new requests answered 5xx")
