"""Running totals of a scan: each block adds its requests and events; totals merge in file order.

Plain Python: the compiled engine's path imports neither NumPy nor Polars.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsbook.logs.lines import AppEvent, RequestRow
from opsbook.logs.signatures import ANY_REQUEST_RE, LOGIN_PATH, classify_request, is_scanner

EXAMPLES = 5
"""Examples kept per attack signature and for malformed lines."""
STATUS_CODES = 1000
DENIED = (401, 403, 429)
ID_SEGMENT = (
    r"/(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,})(/|$)"
)
"""A path segment that names one record (all digits, a UUID, 16+ hex digits), shown as ":id"."""
ENDPOINT_MAX = 200
MS_SLOTS = 1 << 16
"""Response times of whole milliseconds below this many are counted per millisecond."""

_QUERY = re.compile(r"\?.*$")
_ID = re.compile(ID_SEGMENT)


def endpoint_of(request: str) -> str:
    """ "METHOD /path": the query cut, id-like segments as ":id", at most ENDPOINT_MAX chars."""
    path = _QUERY.sub("", request, count=1)
    return _ID.sub(r"/:id\1", _ID.sub(r"/:id\1", path))[:ENDPOINT_MAX]


class Timings:
    """Response times in seconds, kept so that quantiles are exact but memory stays small.

    A time that is a whole number of milliseconds below `MS_SLOTS` (all of nginx's
    `$request_time`) is counted in its millisecond's slot, the value being exactly
    `ms / 1000`; any other value is kept as it is.
    """

    def __init__(self) -> None:
        self.per_ms: Counter[int] = Counter()
        self.other: list[Sequence[float]] = []

    def add(self, seconds: Iterable[float]) -> None:
        """Add response times (NaN, meaning none, is skipped)."""
        other = []
        for value in seconds:
            if math.isnan(value):
                continue
            ms = round(value * 1000) if math.isfinite(value) else -1
            if 0 <= ms < MS_SLOTS and ms / 1000 == value:
                self.per_ms[ms] += 1
            else:
                other.append(value)
        if other:
            self.other.append(other)

    def add_counts(self, per_ms: dict[int, int], other: Sequence[float] = ()) -> None:
        """Add counts per millisecond (ms: count) and other values."""
        self.per_ms.update(per_ms)
        if len(other):
            self.other.append(other)

    def merge(self, other: Timings) -> None:
        self.per_ms.update(other.per_ms)
        self.other.extend(other.other)

    def count(self) -> int:
        return self.per_ms.total() + sum(len(values) for values in self.other)

    def quantiles(self, qs: Sequence[float]) -> list[float]:
        """The quantiles as `numpy.quantile` (linear) gives them over every value, exactly."""
        nth = self._ranked()
        n = self.count()
        found = []
        for q in qs:
            virtual = (n - 1) * q
            if virtual >= n - 1:
                found.append(nth(n - 1))
                continue
            below = math.floor(virtual)
            gamma = virtual - below
            a, b = nth(below), nth(below + 1)
            found.append(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)
        return found

    def _ranked(self) -> Callable[[int], float]:
        """The k-th smallest value (k from 0)."""
        slots = sorted(ms for ms, n in self.per_ms.items() if n)
        counts = [self.per_ms[ms] for ms in slots]
        if not self.other:
            values = [ms / 1000 for ms in slots]
            ends = list(itertools.accumulate(counts))
            return lambda rank: values[bisect.bisect_right(ends, rank)]
        import numpy as np  # many single values (Apache's microseconds): NumPy sorts them

        other = np.sort(np.concatenate([np.asarray(v, dtype=np.float64) for v in self.other]))
        runs = np.concatenate([np.array(slots, dtype=np.float64) / 1000, other])
        weights = np.concatenate([np.array(counts, dtype=np.int64), np.ones(len(other), np.int64)])
        order = np.argsort(runs, kind="stable")  # two sorted runs: a merge
        sorted_runs, run_ends = runs[order], np.cumsum(weights[order])
        return lambda rank: float(sorted_runs[np.searchsorted(run_ends, rank, side="right")])


class DeniedCounts:
    """Requests answered 401, 403 and 429 per client IP (columns in `DENIED` order)."""

    def __init__(self) -> None:
        self.ips: list[str] = []
        self.columns: tuple[list[int], list[int], list[int]] = ([], [], [])
        self._rows: dict[str, int] = {}

    def _row(self, ip: str) -> int:
        row = self._rows.get(ip)
        if row is None:
            row = self._rows[ip] = len(self.ips)
            self.ips.append(ip)
            for column in self.columns:
                column.append(0)
        return row

    def add(self, ip: str, status: int, n: int = 1) -> None:
        """Add `n` answers `status` (401, 403 or 429) to `ip`."""
        self.columns[DENIED.index(status)][self._row(ip)] += n

    def add_table(self, ips: Sequence[str], counts: Sequence[int]) -> None:
        """Add a table: counts[3 * i : 3 * i + 3] are the 401, 403 and 429 of `ips[i]` (each IP
        once; missing counts at the end are 0)."""
        padded = list(counts) + [0] * (3 * len(ips) - len(counts))
        if not self.ips:
            self.ips = list(ips)
            self._rows = dict(zip(self.ips, range(len(self.ips)), strict=True))
            self.columns = (padded[0::3], padded[1::3], padded[2::3])
            return
        for k, column in enumerate(self.columns):
            for ip, n in zip(ips, padded[k::3], strict=True):
                if n:
                    column[self._row(ip)] += n

    def merge(self, other: DeniedCounts) -> None:
        if other.ips:
            self.add_table(other.ips, [n for row in zip(*other.columns, strict=True) for n in row])

    def per_ip(self) -> list[int]:
        return [a + b + c for a, b, c in zip(*self.columns, strict=True)]

    def total(self) -> int:
        return sum(sum(column) for column in self.columns)

    def top(self, n: int) -> list[tuple[str, int, dict[str, int]]]:
        """The `n` IPs with most answers (ties by IP): IP, count, count per status."""
        totals = self.per_ip()
        largest = heapq.nlargest(n, totals)
        least = max(largest[-1], 1) if largest else 1
        chosen = [i for i, count in enumerate(totals) if count >= least]
        best = sorted(chosen, key=lambda i: (-totals[i], self.ips[i]))[:n]
        return [
            (
                self.ips[i],
                totals[i],
                {str(s): c[i] for s, c in zip(DENIED, self.columns, strict=True) if c[i]},
            )
            for i in best
        ]


@dataclass
class Totals:
    """Everything `logs scan` counts. `merge` adds another block's totals in file order."""

    lines: int = 0
    blank: int = 0
    malformed: int = 0
    malformed_examples: list[dict[str, Any]] = field(default_factory=list)
    before_window: int = 0
    requests: int = 0
    status: Counter[int] = field(default_factory=Counter)
    bytes_sent: int = 0
    timings: Timings = field(default_factory=Timings)
    first_time: float = math.inf
    last_time: float = -math.inf
    requests_per_hour: Counter[int] = field(default_factory=Counter)
    endpoints: Counter[str] = field(default_factory=Counter)
    endpoint_5xx: Counter[str] = field(default_factory=Counter)
    denied: DeniedCounts = field(default_factory=DeniedCounts)
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
        self.timings.merge(other.timings)
        self.denied.merge(other.denied)
        self.first_time = min(self.first_time, other.first_time)
        self.last_time = max(self.last_time, other.last_time)
        for mine, theirs in (
            (self.status, other.status),
            (self.requests_per_hour, other.requests_per_hour),
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


def add_rows(totals: Totals, rows: list[RequestRow], source: str, cutoff: float | None) -> None:
    """Count requests read line by line (in line order) that fall inside the window."""
    for row in rows:
        when = int(row.time)
        if cutoff is not None and when < cutoff:
            totals.before_window += 1
            continue
        totals.requests += 1
        totals.status[min(max(row.status, 0), STATUS_CODES - 1)] += 1
        totals.bytes_sent += row.size
        totals.first_time = min(totals.first_time, float(when))
        totals.last_time = max(totals.last_time, float(when))
        totals.requests_per_hour[when // 3600] += 1
        endpoint = endpoint_of(row.request)
        totals.endpoints[endpoint] += 1
        if row.status >= 500:
            totals.endpoint_5xx[endpoint] += 1
        if row.status in DENIED:
            totals.denied.add(row.ip, row.status)
            if row.status != 429 and LOGIN_PATH.search(endpoint):
                totals.failed_logins[row.ip] += 1
        matched = ANY_REQUEST_RE.search(row.request) is not None
        scanner = is_scanner(row.user_agent)
        if matched or scanner:
            note_attack(
                totals,
                source,
                ip=row.ip,
                request=row.request,
                agent=row.user_agent,
                line=row.line,
                when=when,
                request_matched=True,
                scanner=scanner,
            )
    totals.timings.add(row.duration for row in rows if cutoff is None or int(row.time) >= cutoff)
