"""Counting requests held as columns (the NumPy engine's blocks, JSON logs): numbers with
NumPy, strings with Polars. The compiled engine does not use this module."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from opsbook.logs.access import Requests
from opsbook.logs.aggregate import (
    DENIED,
    ENDPOINT_MAX,
    ID_SEGMENT,
    MS_SLOTS,
    STATUS_CODES,
    Totals,
    note_attack,
)
from opsbook.logs.lines import RequestRow
from opsbook.logs.signatures import ANY_REQUEST_ATTACK, LOGIN_PATH_PATTERN, SCANNER_PATTERN


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
    codes = np.bincount(np.clip(status.astype(np.int64), 0, STATUS_CODES - 1))
    present = np.flatnonzero(codes)
    totals.status.update(dict(zip(present.tolist(), codes[present].tolist(), strict=True)))
    totals.bytes_sent += int(size.sum())
    add_timings(totals, duration)
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
        .str.replace_all(ID_SEGMENT, "/:id$1")
        .str.replace_all(ID_SEGMENT, "/:id$1")
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
        totals.denied.add(ip, code, n)
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


def requests_from_rows(rows: list[RequestRow]) -> Requests:
    """Columns from requests read line by line, for the same counting as the fast path."""
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


def add_timings(totals: Totals, seconds: npt.NDArray[Any]) -> None:
    """Response times (NaN: none), split as `Timings` keeps them, with NumPy."""
    values = np.asarray(seconds, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return
    ms = np.rint(values * 1000)
    whole = (ms >= 0) & (ms < MS_SLOTS) & (ms / 1000 == values)
    counts = np.bincount(ms[whole].astype(np.int64))
    present = np.flatnonzero(counts)
    totals.timings.add_counts(
        dict(zip(present.tolist(), counts[present].tolist(), strict=True)), values[~whole]
    )
