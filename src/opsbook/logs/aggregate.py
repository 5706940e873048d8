"""Running totals of a scan: each block adds its requests and events; totals merge in file order."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from opsbook.logs.lines import AppEvent, RequestRow
from opsbook.logs.signatures import (
    ANY_REQUEST_ATTACK,
    LOGIN_PATH_PATTERN,
    SCANNER_PATTERN,
    classify_request,
)

if TYPE_CHECKING:  # Polars is imported only where it is used: the compiled path needs none
    import polars as pl

    from opsbook.logs.access import Requests

I64 = npt.NDArray[np.int64]
EXAMPLES = 5
"""Examples kept per attack signature and for malformed lines."""
STATUS_CODES = 1000
DENIED = (401, 403, 429)
_ID_SEGMENT = (
    r"/(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,})(/|$)"
)
ENDPOINT_MAX = 200


@dataclass
class Totals:
    """Everything `logs scan` counts. `merge` adds another block's totals in file order."""

    lines: int = 0
    blank: int = 0
    malformed: int = 0
    malformed_examples: list[dict[str, Any]] = field(default_factory=list)
    before_window: int = 0
    requests: int = 0
    status: I64 = field(default_factory=lambda: np.zeros(STATUS_CODES, dtype=np.int64))
    bytes_sent: int = 0
    durations: list[np.ndarray[Any, np.dtype[np.float32]]] = field(default_factory=list)
    first_time: float = math.inf
    last_time: float = -math.inf
    requests_per_hour: Counter[int] = field(default_factory=Counter)
    endpoints: Counter[str] = field(default_factory=Counter)
    endpoint_5xx: Counter[str] = field(default_factory=Counter)
    denied: Counter[tuple[str, int]] = field(default_factory=Counter)
    failed_logins: Counter[str] = field(default_factory=Counter)
    attack_ips: dict[str, Counter[str]] = field(default_factory=dict)
    attack_examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    levels_per_hour: dict[int, Counter[str]] = field(default_factory=dict)
    events: int = 0

    def merge(self, other: Totals, line_offset: int = 0) -> None:
        """Add `other`, whose example line numbers are `line_offset` lines into the file."""
        if line_offset:
            for example in other.malformed_examples:
                example["line"] += line_offset
            for examples in other.attack_examples.values():
                for example in examples:
                    example["line"] += line_offset
        for name in ("lines", "blank", "malformed", "before_window", "requests", "bytes_sent"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.events += other.events
        _extend(self.malformed_examples, other.malformed_examples)
        self.status += other.status
        self.durations.extend(other.durations)
        self.first_time = min(self.first_time, other.first_time)
        self.last_time = max(self.last_time, other.last_time)
        for mine, theirs in (
            (self.requests_per_hour, other.requests_per_hour),
            (self.denied, other.denied),
            (self.failed_logins, other.failed_logins),
            (self.endpoints, other.endpoints),
            (self.endpoint_5xx, other.endpoint_5xx),
        ):
            mine.update(theirs)  # type: ignore[arg-type]
        for name, ips in other.attack_ips.items():
            self.attack_ips.setdefault(name, Counter()).update(ips)
        for name, examples in other.attack_examples.items():
            _extend(self.attack_examples.setdefault(name, []), examples)
        for hour, levels in other.levels_per_hour.items():
            self.levels_per_hour.setdefault(hour, Counter()).update(levels)

    def note_malformed(self, source: str, line: int, text: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < EXAMPLES:
            self.malformed_examples.append({"file": source, "line": line, "text": text[:300]})


def _extend(target: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
    target.extend(more[: max(EXAMPLES - len(target), 0)])


def add_requests(totals: Totals, rows: Requests, source: str, cutoff: float | None) -> None:
    """Count a block's requests that fall inside the window (at or after `cutoff`)."""
    if cutoff is not None:
        inside = np.flatnonzero(rows.time >= cutoff)
        totals.before_window += len(rows) - len(inside)
        if len(inside) < len(rows):
            rows = rows.take(inside)
    if len(rows) == 0:
        return
    count_numbers(totals, rows.status, rows.time, rows.size, rows.duration)
    _count_strings(totals, rows, source)


def count_numbers(
    totals: Totals,
    status: npt.NDArray[Any],
    time: npt.NDArray[Any],
    size: npt.NDArray[Any],
    duration: npt.NDArray[Any],
) -> None:
    """Requests, status codes, bytes, response times, time span and requests per hour."""
    totals.requests += len(status)
    codes = np.clip(status.astype(np.int64), 0, STATUS_CODES - 1)
    totals.status += np.bincount(codes, minlength=STATUS_CODES)
    totals.bytes_sent += int(size.sum())
    timed = duration[~np.isnan(duration)]
    if len(timed):
        totals.durations.append(timed.astype(np.float32))
    totals.first_time = min(totals.first_time, float(time.min()))
    totals.last_time = max(totals.last_time, float(time.max()))
    hours = time // 3600
    first = int(hours.min())
    counts = np.bincount(hours - first)
    present = np.flatnonzero(counts)
    totals.requests_per_hour.update(
        dict(zip((present + first).tolist(), counts[present].tolist(), strict=True))
    )


def _count_strings(totals: Totals, rows: Requests, source: str) -> None:
    """Endpoints, denied IPs, failed logins and attacks: one parallel Polars pass per block."""
    import polars as pl

    frame = pl.DataFrame(
        {
            "request": rows.request,
            "agent": rows.user_agent,
            "ip": rows.ip,
            "status": rows.status,
            "line": rows.line,
            "time": rows.time,
        }
    )
    lazy = frame.lazy()
    endpoint = (
        pl.col("request")
        .str.replace(r"\?.*$", "")
        .str.replace_all(_ID_SEGMENT, "/:id$1")
        .str.replace_all(_ID_SEGMENT, "/:id$1")
        .str.slice(0, ENDPOINT_MAX)
    )
    endpoints = (
        lazy.group_by("request")
        .agg(pl.len().alias("n"), (pl.col("status") >= 500).sum().alias("errors"))
        .group_by(endpoint.alias("endpoint"))
        .agg(pl.col("n").sum(), pl.col("errors").sum())
    )
    login = pl.col("status").is_in((401, 403)) & endpoint.str.contains(LOGIN_PATH_PATTERN)
    denied = (
        lazy.filter(pl.col("status").is_in(DENIED))
        .group_by("ip", "status")
        .agg(pl.len().alias("n"), login.sum().alias("logins"))
    )
    agents = lazy.select(pl.col("agent").unique())
    columns = ("ip", "request", "agent", "line", "time")
    suspicious = lazy.filter(pl.col("request").str.contains(ANY_REQUEST_ATTACK)).select(columns)
    ends, refused, seen_agents, odd = pl.collect_all([endpoints, denied, agents, suspicious])
    for name, n, errors in ends.iter_rows():
        totals.endpoints[name] += n
        if errors:
            totals.endpoint_5xx[name] += errors
    for ip, code, n, logins in refused.iter_rows():
        totals.denied[(ip, code)] += n
        if logins:
            totals.failed_logins[ip] += logins
    scanners = seen_agents.filter(pl.col("agent").str.contains(SCANNER_PATTERN))["agent"]
    flagged = set(scanners.to_list())
    if flagged:
        by_agent = frame.filter(pl.col("agent").is_in(scanners.implode())).select(columns)
        odd = pl.concat([odd, by_agent]).unique(subset="line", keep="first").sort("line")
    _count_attacks(totals, odd, flagged, source)


def _count_attacks(totals: Totals, odd: pl.DataFrame, flagged: set[str], source: str) -> None:
    for ip, text, agent, line, when in odd.iter_rows():
        note_attack(
            totals,
            source,
            ip=ip,
            request=text,
            agent=agent,
            line=line,
            when=when,
            request_matched=True,
            scanner=agent in flagged,
        )


def note_attack(
    totals: Totals,
    source: str,
    *,
    ip: str,
    request: str,
    agent: str,
    line: int,
    when: int,
    request_matched: bool,
    scanner: bool,
) -> None:
    """Count one suspicious request under each signature it matches, keeping a few examples."""
    names = classify_request(request) if request_matched else []
    if scanner:
        names.append("scanner")
    for name in names:
        totals.attack_ips.setdefault(name, Counter())[ip] += 1
        examples = totals.attack_examples.setdefault(name, [])
        if len(examples) < EXAMPLES:
            examples.append(
                {
                    "file": source,
                    "line": line,
                    "ip": ip,
                    "time": when,
                    "request": request[:300],
                    "user_agent": agent[:200],
                }
            )


def add_events(totals: Totals, events: list[AppEvent], cutoff: float | None) -> None:
    """Count application-log lines: ERROR/WARN per hour and failed logins by IP."""
    for event in events:
        if event.time is None:
            continue
        if cutoff is not None and event.time < cutoff:
            totals.before_window += 1
            continue
        totals.events += 1
        totals.first_time = min(totals.first_time, event.time)
        totals.last_time = max(totals.last_time, event.time)
        if event.level is not None:
            hour = int(event.time // 3600)
            totals.levels_per_hour.setdefault(hour, Counter())[event.level] += 1
        if event.failed_login_ip is not None:
            totals.failed_logins[event.failed_login_ip] += 1


def requests_from_rows(rows: list[RequestRow]) -> Requests:
    """Columns from requests read line by line, for the same counting as the fast path."""
    import polars as pl

    from opsbook.logs.access import Requests

    return Requests(
        status=np.array([r.status for r in rows], dtype=np.int64),
        time=np.array([int(r.time) for r in rows], dtype=np.int64),
        size=np.array([r.size for r in rows], dtype=np.int64),
        duration=np.array([r.duration for r in rows], dtype=np.float64),
        request=pl.Series([r.request for r in rows], dtype=pl.String),
        user_agent=pl.Series([r.user_agent for r in rows], dtype=pl.String),
        line=np.array([r.line for r in rows], dtype=np.int64),
        ip=pl.Series([r.ip for r in rows], dtype=pl.String),
    )
