"""`logs scan`: one pass over access, JSON and application logs (plain or gzip) to one report.

Access logs go through the vectorised block parser on a small thread pool (NumPy, Polars and
zlib release the GIL); JSON and application logs are read line by line. Every figure comes
from the same pass: nothing is read twice.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from opsbook.errors import UsageError
from opsbook.logs import native
from opsbook.logs.aggregate import Totals, add_events, add_rows
from opsbook.logs.lines import (
    AppEvent,
    RequestRow,
    parse_access_line,
    parse_app_line,
    parse_json_line,
)
from opsbook.logs.readers import (
    BLOCK_SIZE,
    FORMATS,
    Chunk,
    TruncatedLog,
    file_blocks,
    sniff_format,
)

Progress = Callable[[str, int], None]
"""Called with a file name and the bytes of it read so far."""


@dataclass
class FileResult:
    path: str
    format: str
    lines: int = 0
    malformed: int = 0
    error: str | None = None  # the file could only be read in part


@dataclass
class ScanResult:
    totals: Totals
    files: list[FileResult] = field(default_factory=list)
    cutoff: float | None = None
    now: datetime | None = None


@dataclass
class _Scan:
    """One scan's settings and running totals, shared by the files it reads."""

    fmt: str
    cutoff: float | None
    year: int
    pool: ThreadPoolExecutor
    threads: int
    block_size: int
    progress: Progress | None
    totals: Totals
    engine: str = "auto"


def scan(
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    since: float | None = None,
    now: datetime,
    workers: int | None = None,
    block_size: int = BLOCK_SIZE,
    progress: Progress | None = None,
    engine: str = "auto",
) -> ScanResult:
    """Scan `paths` in one pass; only lines at or after `now - since` seconds count."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown log format {fmt!r} (use {', '.join(FORMATS)})")
    cutoff = now.timestamp() - since if since is not None else None
    result = ScanResult(Totals(), cutoff=cutoff, now=now)
    threads = workers or min(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="logscan") as pool:
        job = _Scan(
            fmt, cutoff, now.year, pool, threads, block_size, progress, result.totals, engine
        )
        result.files.extend(_scan_file(job, path) for path in paths)
    return result


def _scan_file(job: _Scan, path: Path) -> FileResult:
    source = str(path)
    done = FileResult(source, job.fmt)
    base, malformed_before = job.totals.lines, job.totals.malformed
    chunks = _blocks_of(file_blocks(path, job.block_size), done)
    try:
        first = next(chunks, None)
        if first is None:
            done.format = "empty" if job.fmt == "auto" else job.fmt
            return done
        if job.fmt == "auto":
            done.format = sniff_format(bytes(first[: 64 << 10]))
        read = _reading(first, chunks, job.progress, source)
        if done.format in ("combined", "nginx"):
            _run_access(job, read, source, done.format != "nginx", base)
        else:
            _run_lines(job, read, source, done.format, base)
    finally:
        chunks.close()
    done.lines = job.totals.lines - base
    done.malformed = job.totals.malformed - malformed_before
    return done


def _blocks_of(chunks: Iterator[Chunk], done: FileResult) -> Generator[Chunk]:
    try:
        yield from chunks
    except TruncatedLog as exc:
        done.error = f"read stopped early: {exc}"


def _reading(
    first: Chunk, rest: Iterator[Chunk], progress: Progress | None, source: str
) -> Iterator[Chunk]:
    seen = len(first)
    yield first
    for block in rest:
        if progress is not None:
            progress(source, seen)
        seen += len(block)
        yield block


def _run_access(job: _Scan, read: Iterator[Chunk], source: str, micros: bool, base: int) -> None:
    """Parse blocks on the pool, a few ahead, and merge their totals in file order.

    `base` is the scan's line count when this file began (example line numbers are per file).
    """
    pending: deque[Future[Totals]] = deque()
    compiled = job.engine == "native" or (job.engine == "auto" and native.available())
    counters = native.Counters(micros, job.cutoff) if compiled else None

    def merge_oldest() -> None:
        part = pending.popleft().result()
        job.totals.merge(part, line_offset=job.totals.lines - base)

    for block in read:
        pending.append(job.pool.submit(access_block, block, source, job.cutoff, micros, counters))
        if len(pending) > job.threads:
            merge_oldest()
    while pending:
        merge_oldest()
    if counters is not None:
        counters.finish(job.totals)


def access_block(
    data: Chunk,
    source: str,
    cutoff: float | None,
    micros: bool,
    counters: native.Counters | None = None,
) -> Totals:
    """Totals of one block of an access log; example line numbers are relative to the block.

    With `counters` the compiled kernel counts the block (its totals are added when the file
    is done); without, the NumPy engine does.
    """
    if counters is None:
        return _numpy_block(data, source, cutoff, micros)
    # The kernel checks the strings it keeps; lines with bad UTF-8 go to the line parser.
    found = native.scan_block(counters, data)
    part = Totals()
    native.add_block(part, found, data, source)
    rows: list[RequestRow] = []
    for index, start, length in native.slow_lines(found):
        _read_line(part, rows, bytes(data[start : start + length]), index, (source, micros))
    if rows:
        add_rows(part, rows, source, cutoff)
    return part


def _read_line(
    part: Totals, rows: list[RequestRow], raw: bytes, index: int, how: tuple[str, bool]
) -> None:
    """A line the fast path left to the line parser: a request, or a malformed line.

    `how`: the file's name and whether integer response times are microseconds."""
    source, micros = how
    text = raw.decode("utf-8", "replace")
    row = parse_access_line(text, index + 1, integer_is_micros=micros)
    if row is None:
        part.note_malformed(source, index + 1, text)
    else:
        rows.append(row)


def _numpy_block(data: Chunk, source: str, cutoff: float | None, micros: bool) -> Totals:
    from opsbook.logs.access import parse_access_block
    from opsbook.logs.columnar import add_requests, requests_from_rows
    from opsbook.logs.columns import padded

    data = valid_utf8(data)
    fast = parse_access_block(padded(data), len(data), 1, integer_is_micros=micros)
    part = Totals(lines=len(fast.ends), blank=fast.blank)
    add_requests(part, fast.requests, source, cutoff)
    rows: list[RequestRow] = []
    for index in fast.slow.tolist():
        raw = bytes(data[fast.starts[index] : fast.ends[index]])
        _read_line(part, rows, raw, index, (source, micros))
    if rows:
        add_requests(part, requests_from_rows(rows), source, cutoff)
    return part


def valid_utf8(data: Chunk) -> Chunk:
    """`data`, with bytes that are not UTF-8 replaced (U+FFFD) so string columns stay valid."""
    if data.isascii() if isinstance(data, bytes) else _ascii_view(data):
        return data
    raw = bytes(data)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace").encode("utf-8")
    return raw


def _ascii_view(data: memoryview) -> bool:
    import numpy as np

    return bool(np.frombuffer(data, np.uint8).max() < 128)


def _run_lines(job: _Scan, read: Iterator[Chunk], source: str, fmt: str, base: int) -> None:
    for block in read:
        part = Totals()
        rows: list[RequestRow] = []
        events: list[AppEvent] = []
        text_block = bytes(block).decode("utf-8", "replace")
        for number, raw in enumerate(text_block.split("\n")[:-1], 1):
            text = raw.rstrip("\r")
            part.lines += 1
            if not text.strip():
                part.blank += 1
            elif fmt == "json":
                parsed = parse_json_line(text, number)
                if parsed.malformed:
                    part.note_malformed(source, number, text)
                if parsed.request is not None:
                    rows.append(parsed.request)
                if parsed.event is not None:
                    events.append(parsed.event)
            else:
                events.append(parse_app_line(text, number, job.year))
        if rows:
            from opsbook.logs.columnar import add_requests, requests_from_rows

            add_requests(part, requests_from_rows(rows), source, job.cutoff)
        add_events(part, events, job.cutoff)
        job.totals.merge(part, line_offset=job.totals.lines - base)
