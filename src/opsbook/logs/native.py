"""The compiled access-log kernel (`_scan.c`) and the adding up of what it counted.

Each worker thread keeps one kernel counter per file. Per block the kernel counts everything
itself and returns only the rows Python must read: possible attacks (checked here with the
real signatures) and lines for the line parser. When the file is done, `finish` merges the
threads' counters in the kernel and adds the result to the totals once: requests, status
codes, bytes, hours, response times (counts per millisecond), endpoints, answers per denied
IP, and failed logins: the 401/403 answers per (IP, endpoint), summed over the endpoints the
login-path pattern matches (run once per distinct endpoint). No Polars or Arrow on this path.

The kernel is optional: `available()` is False when opsbook was installed without a C
compiler, and the NumPy engine is used instead.
"""

from __future__ import annotations

import functools
import math
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from opsbook.logs.aggregate import MS_SLOTS, Totals, note_attack
from opsbook.logs.readers import Chunk
from opsbook.logs.signatures import (
    ANY_REQUEST_RE,
    LOGIN_PATH,
    SCANNER_WORDS,
    SUSPICIOUS_WORDS,
    is_scanner,
)

try:
    from opsbook.logs import _scan
except ImportError:  # built without a C compiler
    _scan = None  # type: ignore[assignment]

CANDIDATE = struct.Struct("<q10i")
"""A possible attack: time, line index, line start and length, request start and length,
agent start and length, status, flags (SUSPICIOUS | SCANNER), padding."""
SLOW = struct.Struct("<3i")
"""A line for the line parser: its index, start and length in the block."""
SUSPICIOUS, SCANNER = 1, 2


def available() -> bool:
    """Whether the kernel is built (and from this version of the sources)."""
    return getattr(_scan, "MS_SLOTS", None) == MS_SLOTS


@dataclass
class Counters:
    """The kernel counters of one file, one per worker thread that scanned part of it."""

    micros: bool
    cutoff: float | None
    _local: threading.local = field(default_factory=threading.local)
    _all: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mine(self) -> Any:
        """This thread's counter (made on first use)."""
        counter = getattr(self._local, "counter", None)
        if counter is None:
            assert _scan is not None, "the compiled log kernel is not installed"
            limit = None if self.cutoff is None else math.ceil(self.cutoff)
            counter = _scan.start(self.micros, SUSPICIOUS_WORDS, SCANNER_WORDS, limit)
            self._local.counter = counter
            with self._lock:
                self._all.append(counter)
        return counter

    def finish(self, totals: Totals) -> None:
        """Add the counters' totals (call once all blocks of the file are done)."""
        if not self._all:
            return
        merged, *others = self._all
        for other in others:
            _scan.merge(merged, other)
        add_totals(totals, merged)


def scan_block(counters: Counters, data: Chunk) -> dict[str, Any]:
    """Count a block with this thread's counter; returns lines, blank, candidates, slow."""
    assert _scan is not None
    return _scan.scan(counters.mine(), data)


def slow_lines(rows: dict[str, Any]) -> Iterator[tuple[int, int, int]]:
    """(index, start, length) of the lines the line parser must read."""
    return SLOW.iter_unpack(rows["slow"])


def add_block(totals: Totals, rows: dict[str, Any], data: Chunk, source: str) -> None:
    """Add a block's line counts and attacks (line numbers relative to the block)."""
    totals.lines += rows["lines"]
    totals.blank += rows["blank"]
    totals.before_window += rows["before_window"]
    for row in CANDIDATE.iter_unpack(rows["candidates"]):
        when, index, start, length, req_start, req_length, ag_start, ag_length, _, flags, _ = row
        text = bytes(data[req_start : req_start + req_length]).decode("utf-8", "replace")
        agent = bytes(data[ag_start : ag_start + ag_length]).decode("utf-8", "replace")
        matched = bool(flags & SUSPICIOUS) and ANY_REQUEST_RE.search(text) is not None
        scanner = bool(flags & SCANNER) and _scanner(agent)
        if not (matched or scanner):
            continue
        ip = bytes(data[start : start + length]).split(b" ", 1)[0].decode("utf-8", "replace")
        note_attack(
            totals,
            source,
            ip=ip,
            request=text,
            agent=agent,
            line=index + 1,
            when=when,
            request_matched=matched,
            scanner=scanner,
        )


def add_totals(totals: Totals, counter: Any) -> None:
    """Add a (merged) counter's totals."""
    counted = _scan.totals(counter)
    if not counted["requests"]:
        return
    totals.requests += counted["requests"]
    totals.status.update(counted["status"])
    totals.bytes_sent += counted["bytes_sent"]
    totals.first_time = min(totals.first_time, float(counted["first_time"]))
    totals.last_time = max(totals.last_time, float(counted["last_time"]))
    totals.timings.add_counts(counted["per_ms"], memoryview(counted["timed_other"]).cast("d"))
    totals.requests_per_hour.update(counted["hours"])
    endpoints: list[str] = counted["endpoints"]
    totals.endpoints.update(_per_key(endpoints, counted["endpoint_requests"]))
    totals.endpoint_5xx.update(_per_key(endpoints, counted["endpoint_errors"]))
    totals.denied.add_table(counted["ips"], counted["ip_denied"])
    logins = [e for e in counted["auth_endpoints"] if _login(endpoints[e])]
    totals.failed_logins.update(_scan.failed_logins(counter, logins))


def _per_key(keys: list[str], counts: list[int]) -> dict[str, int]:
    """{key: count} for the non-zero counts (one per key, maybe fewer)."""
    return {keys[i]: n for i, n in enumerate(counts) if n}


@functools.lru_cache(maxsize=65536)
def _scanner(agent: str) -> bool:
    return is_scanner(agent)


@functools.lru_cache(maxsize=65536)
def _login(endpoint: str) -> bool:
    return LOGIN_PATH.search(endpoint) is not None
