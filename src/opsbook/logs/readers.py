"""Reading log files in large blocks that end on a line boundary, plain or gzip-compressed.

The scanner never splits a file into Python strings one line at a time: it reads blocks of a
few megabytes, each ending with a newline, and hands them whole to the vectorised parsers.
"""

from __future__ import annotations

import mmap
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from opsbook.errors import InputError, NotFoundError

BLOCK_SIZE = 8 << 20
"""Bytes read per block; a block grows to hold a longer line whole."""

LONGEST_LINE = 2
"""A "line" longer than this many blocks (binary data, no newline) is cut into pieces."""

FORMATS = ("auto", "combined", "nginx", "json", "app")

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ACCESS_LINE = re.compile(rb'^\S+ \S+ .*?\[[^\]]+\] "[^"]*" \d{3} ')
_APP_TIME = re.compile(rb"^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}")


Chunk = bytes | memoryview
"""A block of whole lines: bytes, or a view of a memory-mapped file (no copy)."""


def file_blocks(path: Path, size: int = BLOCK_SIZE) -> Iterator[Chunk]:
    """The file as blocks of whole lines (about `size` bytes), each ending with a newline.

    Plain files are memory-mapped and handed out as views, never copied; gzip files (known by
    content) are decompressed. A cut gzip file yields what is readable, then raises
    `TruncatedLog`.
    """
    with _open(path) as stream:
        compressed = stream.read(2) == _GZIP_MAGIC
        stream.seek(0)
        mapped = None if compressed else _map(stream)
    if mapped is None:
        yield from blocks(pieces(path, size), size)
        return
    view = memoryview(mapped)
    start, end = 0, len(mapped)
    while start < end:
        stop = mapped.rfind(b"\n", start, min(start + size, end)) + 1
        if stop <= start:  # a line longer than a block: take it whole, up to the longest line
            found = mapped.find(b"\n", start + size, start + size * LONGEST_LINE + 1)
            stop = found + 1 if found >= 0 else min(end, start + size * LONGEST_LINE)
        yield view[start:stop] if view[stop - 1] == 10 else bytes(view[start:stop]) + b"\n"
        start = stop


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such log file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a log file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def _map(stream: BinaryIO) -> mmap.mmap | None:
    """The file mapped read-only, or None when it cannot be (empty, a pipe, a device)."""
    try:
        mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    if hasattr(mmap, "MADV_SEQUENTIAL"):
        mapped.madvise(mmap.MADV_SEQUENTIAL)
    return mapped


def pieces(path: Path, size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """The file's bytes in pieces, decompressed when it is gzip (known by content, not name).

    A gzip file that ends early (still being written, or cut) yields everything readable and
    then raises `TruncatedLog`.
    """
    with _open(path) as stream:
        head = stream.read(2)
        if head != _GZIP_MAGIC:
            yield head
            while data := stream.read(size):
                yield data
            return
        yield from _gunzip(stream, head, size)


def _gunzip(stream: BinaryIO, head: bytes, size: int) -> Iterator[bytes]:
    inflate = zlib.decompressobj(wbits=_GZIP_WBITS)
    pending = head
    while True:
        data = pending or stream.read(size // 4)
        pending = b""
        if not data:
            break
        try:
            out = inflate.decompress(data)
        except zlib.error as exc:
            raise TruncatedLog(f"corrupt gzip data: {exc}") from None
        if out:
            yield out
        if inflate.eof:  # a member ended; another may follow (concatenated gzip files)
            pending = inflate.unused_data
            inflate = zlib.decompressobj(wbits=_GZIP_WBITS)
            if not pending and not (pending := stream.read(size // 4)):
                return
    if not inflate.eof:
        raise TruncatedLog("the gzip stream ends early (file cut or still being written)")


def blocks(chunks: Iterator[bytes], size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Blocks of whole lines of about `size` bytes, each ending with b"\\n".

    A last line without a newline gets one. A `TruncatedLog` from `chunks` is raised again
    after every whole line before it was yielded.
    """
    buffered: list[bytes] = []
    held = 0
    try:
        for chunk in chunks:
            buffered.append(chunk)
            held += len(chunk)
            if held >= size:
                data = b"".join(buffered)
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                    data = data[cut:]
                elif len(data) >= size * LONGEST_LINE:  # no newline at all: cut it as a line
                    yield data + b"\n"
                    data = b""
                buffered, held = [data], len(data)
    except TruncatedLog:
        rest = b"".join(buffered)
        if rest:
            yield rest if rest.endswith(b"\n") else rest + b"\n"
        raise
    rest = b"".join(buffered)
    if rest:
        yield rest if rest.endswith(b"\n") else rest + b"\n"


class TruncatedLog(Exception):
    """Reading stopped early: a cut or corrupt gzip stream."""


def sniff_format(sample: bytes) -> str:
    """`combined`, `json` or `app`, from the first non-empty lines of a file."""
    votes = {"combined": 0, "json": 0, "app": 0}
    lines = [line for line in sample.split(b"\n")[:50] if line.strip()]
    for line in lines[:20]:
        stripped = line.lstrip()
        if stripped.startswith(b"{"):
            votes["json"] += 1
        elif _ACCESS_LINE.match(line):
            votes["combined"] += 1
        elif _APP_TIME.match(stripped):
            votes["app"] += 1
    best = max(votes, key=lambda k: votes[k])
    return best if votes[best] else "app"
