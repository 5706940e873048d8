"""The compiled access-log kernel (`_scan.c`) and the adding up of what it counted.

Each worker thread keeps one kernel counter per file. Per block the kernel counts everything
itself and returns only the rows Python must read: possible attacks (checked here with the
real signatures) and lines for the line parser. When the file is done, `finish` adds each
counter's totals: requests, status codes, bytes, hours, response times, endpoints, and the
denied rows, from which failed logins are found with the login-path pattern run once per
distinct endpoint. No Polars or Arrow on this path.

The kernel is optional: `available()` is False when opsbook was installed without a C
compiler, and the NumPy engine is used instead.
"""

from __future__ import annotations

import functools
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opsbook.logs.aggregate import STATUS_CODES, Totals, note_attack
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

CANDIDATE = np.dtype(
    [
        ("time", "<i8"),
        ("index", "<i4"),
        ("start", "<i4"),
        ("length", "<i4"),
        ("request_start", "<i4"),
        ("request_length", "<i4"),
        ("agent_start", "<i4"),
        ("agent_length", "<i4"),
        ("status", "<i4"),
        ("flags", "<i4"),
        ("pad", "<i4"),
    ]
)
DENIED = np.dtype([("ip", "<i4"), ("status", "<i4"), ("endpoint", "<i4")])
SLOW = np.dtype([("index", "<i4"), ("start", "<i4"), ("length", "<i4")])
SUSPICIOUS, SCANNER = 1, 2


def available() -> bool:
    return _scan is not None


@dataclass
class Strings:
    """One of the kernel's string tables: key i is `blob[offsets[i]:offsets[i + 1]]`."""

    blob: bytes
    offsets: bytes

    def __len__(self) -> int:
        return len(self.offsets) // 8 - 1

    def key(self, index: int) -> str:
        start, stop = struct.unpack_from("<qq", self.offsets, index * 8)
        return self.blob[start:stop].decode("utf-8")


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
            limit = None if self.cutoff is None else int(np.ceil(self.cutoff))
            counter = _scan.start(self.micros, SUSPICIOUS_WORDS, SCANNER_WORDS, limit)
            self._local.counter = counter
            with self._lock:
                self._all.append(counter)
        return counter

    def finish(self, totals: Totals) -> None:
        """Add every counter's totals (call once all blocks of the file are done)."""
        for counter in self._all:
            add_totals(totals, _scan.totals(counter))


def scan_block(counters: Counters, data: Chunk) -> dict[str, Any]:
    """Count a block with this thread's counter; returns lines, blank, candidates, slow."""
    assert _scan is not None
    return _scan.scan(counters.mine(), data)


def slow_lines(rows: dict[str, Any]) -> np.ndarray[Any, np.dtype[np.void]]:
    """(index, start, length) of the lines the line parser must read."""
    return np.frombuffer(rows["slow"], dtype=SLOW)


def add_block(totals: Totals, rows: dict[str, Any], data: Chunk, source: str) -> None:
    """Add a block's line counts and attacks (line numbers relative to the block)."""
    totals.lines += rows["lines"]
    totals.blank += rows["blank"]
    totals.before_window += rows["before_window"]
    for row in np.frombuffer(rows["candidates"], dtype=CANDIDATE).tolist():
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


def add_totals(totals: Totals, counted: dict[str, Any]) -> None:
    """Add one counter's totals."""
    if not counted["requests"]:
        return
    totals.requests += counted["requests"]
    totals.status += np.frombuffer(counted["status"], dtype=np.int64)[:STATUS_CODES]
    totals.bytes_sent += counted["bytes_sent"]
    totals.first_time = min(totals.first_time, float(counted["first_time"]))
    totals.last_time = max(totals.last_time, float(counted["last_time"]))
    durations = np.frombuffer(counted["durations"], dtype=np.float64)
    if len(durations):
        totals.durations.append(durations.astype(np.float32))
    hours = np.frombuffer(counted["hours"], dtype=np.int64)
    present = np.flatnonzero(hours)
    totals.requests_per_hour.update(
        dict(zip((present + counted["hour_base"]).tolist(), hours[present].tolist(), strict=True))
    )
    totals.requests_per_hour.update(np.frombuffer(counted["hours_outside"], np.int64).tolist())
    endpoints = Strings(*counted["endpoints"])
    requests = np.frombuffer(counted["endpoint_requests"], dtype=np.int64)
    errors = np.frombuffer(counted["endpoint_errors"], dtype=np.int64)
    for index in np.flatnonzero(requests).tolist():
        name = endpoints.key(index)
        totals.endpoints[name] += int(requests[index])
        if index < len(errors) and errors[index]:
            totals.endpoint_5xx[name] += int(errors[index])
    _denied(totals, counted, endpoints)


def _denied(totals: Totals, counted: dict[str, Any], endpoints: Strings) -> None:
    rows = np.frombuffer(counted["denied"], dtype=DENIED)
    if not len(rows):
        return
    ips = Strings(*counted["ips"])
    codes = rows["status"].astype(np.int64)
    auth = codes != 429
    logins = [e for e in np.unique(rows["endpoint"][auth]).tolist() if _login(endpoints.key(e))]
    failed = auth & np.isin(rows["endpoint"], logins)
    pairs, counts = np.unique(rows["ip"].astype(np.int64) * 1000 + codes, return_counts=True)
    for pair, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        totals.denied[(ips.key(pair // 1000), pair % 1000)] += n
    for ip, n in Counter(rows["ip"][failed].tolist()).items():
        totals.failed_logins[ips.key(ip)] += n


@functools.lru_cache(maxsize=65536)
def _scanner(agent: str) -> bool:
    return is_scanner(agent)


@functools.lru_cache(maxsize=65536)
def _login(endpoint: str) -> bool:
    return LOGIN_PATH.search(endpoint) is not None
