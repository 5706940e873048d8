"""Vectorised parsing of access logs (combined / common log format, nginx) one block at a time.

Every line of a block is located from two byte scans (newlines and double quotes); the fields
are then read at fixed offsets from those quotes with NumPy, never with a per-line Python loop:

    IP - user [10/Oct/2023:13:55:36 +0000] "GET /path?q HTTP/1.1" 200 2326 "ref" "agent" 0.012
                                            q1                  q2             q3  q4 q5     q6

Lines the fast path cannot read (an escaped quote, an odd timestamp) go to the line-by-line
parser in `lines.py`, which also decides whether they are malformed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from opsbook.logs.columns import (
    F64,
    I64,
    NUMBER_WIDTH,
    U8,
    Mask,
    first_byte,
    parse_numbers,
    strings,
    windows,
)

_MONTHS = np.array(
    [
        (ord(m[0]) << 16) | (ord(m[1]) << 8) | ord(m[2])
        for m in (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        )
    ],
    dtype=np.int64,
)
_MONTH_ORDER = np.argsort(_MONTHS)
_SORTED_MONTHS = _MONTHS[_MONTH_ORDER]
_TS_DIGITS = [1, 2, 8, 9, 10, 11, 13, 14, 16, 17, 19, 20, 23, 24, 25, 26]
_TS_PUNCT = {0: ord("["), 3: ord("/"), 7: ord("/"), 12: ord(":"), 15: ord(":")}
_TS_PUNCT |= {18: ord(":"), 21: ord(" "), 27: ord("]"), 28: ord(" ")}


@dataclass
class Requests:
    """Requests parsed from a block, as columns of equal length."""

    status: I64
    time: I64  # Unix seconds
    size: I64  # bytes sent
    duration: F64  # seconds; NaN when the line has no response time
    request: pl.Series  # "GET /path?query", without the protocol
    user_agent: pl.Series
    line: I64  # 1-based line number in the block
    ip: pl.Series  # client address

    def __len__(self) -> int:
        return len(self.status)

    def take(self, rows: I64) -> Requests:
        """The given rows only."""
        return Requests(
            self.status[rows],
            self.time[rows],
            self.size[rows],
            self.duration[rows],
            self.request.gather(rows),
            self.user_agent.gather(rows),
            self.line[rows],
            self.ip.gather(rows),
        )


@dataclass
class BlockLines:
    """Where each line of a block starts and ends, and where its double quotes are.

    `marks` holds the offsets of every newline and double quote, in order; the quotes of line i
    are `marks[first[i] : first[i] + quote_count[i]]`.
    """

    starts: I64
    ends: I64  # offset of each line's newline
    marks: I64
    first: I64
    quote_count: I64


def split_block(buf: U8, size: int) -> BlockLines:
    """Lines and quotes of the first `size` bytes of a padded block (two byte scans)."""
    body = buf[:size]
    hits = np.equal(body, 10)
    newline_at = np.flatnonzero(hits)
    np.equal(body, 34, out=hits)
    hits[newline_at] = True
    marks = np.flatnonzero(hits)
    rank = np.searchsorted(marks, newline_at)  # index in marks of each newline
    first = np.empty(len(rank), dtype=np.int64)
    if len(rank):
        first[0] = 0
        first[1:] = rank[:-1] + 1
    starts = np.empty(len(newline_at), dtype=np.int64)
    if len(newline_at):
        starts[0] = 0
        starts[1:] = newline_at[:-1] + 1
    return BlockLines(starts, newline_at, marks, first, rank - first)


def clf_times(rows: U8) -> tuple[I64, Mask]:
    """Unix seconds from `[dd/Mon/yyyy:HH:MM:SS +zzzz] ` rows (29 bytes), and which were valid."""
    ok = np.ones(len(rows), dtype=bool)
    for col, byte in _TS_PUNCT.items():
        ok &= rows[:, col] == byte
    digit = rows[:, _TS_DIGITS].astype(np.int64) - 48
    ok &= ((digit >= 0) & (digit <= 9)).all(axis=1)
    ok &= (rows[:, 22] == ord("+")) | (rows[:, 22] == ord("-"))
    code = (rows[:, 4].astype(np.int64) << 16) | (rows[:, 5].astype(np.int64) << 8) | rows[:, 6]
    slot = np.minimum(np.searchsorted(_SORTED_MONTHS, code), 11)
    ok &= _SORTED_MONTHS[slot] == code
    month = _MONTH_ORDER[slot] + 1
    day = digit[:, 0] * 10 + digit[:, 1]
    year = digit[:, 2] * 1000 + digit[:, 3] * 100 + digit[:, 4] * 10 + digit[:, 5]
    hms = (digit[:, 6] * 10 + digit[:, 7]) * 3600 + (digit[:, 8] * 10 + digit[:, 9]) * 60
    hms += digit[:, 10] * 10 + digit[:, 11]
    offset = (digit[:, 12] * 10 + digit[:, 13]) * 3600 + (digit[:, 14] * 10 + digit[:, 15]) * 60
    sign = np.where(rows[:, 22] == ord("-"), -1, 1)
    ok &= (day >= 1) & (day <= 31) & (hms < 86400)
    return days_from_civil(year, month, day) * 86400 + hms - sign * offset, ok


def days_from_civil(year: I64, month: I64, day: I64) -> I64:
    """Days since 1970-01-01 of each proleptic Gregorian date (H. Hinnant's algorithm)."""
    year = year - (month <= 2)
    era = np.floor_divide(year, 400)
    yoe = year - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146097 + doe - 719468, dtype=np.int64)


@dataclass
class FastResult:
    requests: Requests
    slow: I64  # indices of non-blank lines the fast path could not read
    blank: int
    starts: I64
    ends: I64


def parse_access_block(
    buf: U8, size: int, first_line: int, *, integer_is_micros: bool = True
) -> FastResult:
    """Requests of one padded block; lines it cannot read are listed in `slow`.

    `first_line` is the file's line number of the block's first line. A trailing integer
    response time is microseconds (Apache `%D`) when `integer_is_micros`, else seconds.
    """
    lines = split_block(buf, size)
    n = len(lines.ends)
    length = lines.ends - lines.starts
    blank = length == 0
    ok = ~blank & (lines.quote_count >= 2) & (lines.quote_count % 2 == 0)
    top = len(lines.marks) - 1

    def quote(k: I64) -> I64:
        return np.asarray(lines.marks[np.minimum(lines.first + k, top)], dtype=np.int64)

    zero = np.zeros(n, dtype=np.int64)
    q1, q2 = quote(zero), quote(zero + 1)
    ok &= q1 - 29 >= lines.starts
    times, time_ok = clf_times(windows(buf, np.maximum(q1 - 29, 0), 29))
    ok &= time_ok
    after = windows(buf, q2, 6)  # '" 200 '
    code = after[:, 2:5].astype(np.int64) - 48
    ok &= (after[:, 1] == 32) & ((code >= 0) & (code <= 9)).all(axis=1)
    ok &= np.isin(after[:, 5], (32, 10, 13))
    status = code[:, 0] * 100 + code[:, 1] * 10 + code[:, 2]
    size_value, size_dotted = parse_numbers(windows(buf, q2 + 6, NUMBER_WIDTH))
    dash = windows(buf, q2 + 6, 2)  # "-": no body
    no_size = (dash[:, 0] == 45) & np.isin(dash[:, 1], (32, 10, 13))
    ok &= (~np.isnan(size_value) & ~size_dotted) | no_size  # else the line parser decides

    keep = np.flatnonzero(ok)
    slow = np.flatnonzero(~ok & ~blank)
    has_agent = lines.quote_count[keep] >= 6
    req_start = q1[keep] + 1
    req_end = _request_end(buf, req_start, q2[keep])
    agent_start = np.where(has_agent, quote(zero + 4)[keep] + 1, 0)
    agent_end = np.where(has_agent, quote(zero + 5)[keep], 0)
    last_quote = quote(lines.quote_count - 1)[keep]
    duration, dotted = parse_numbers(windows(buf, last_quote + 2, NUMBER_WIDTH))
    trailing = has_agent & (buf[last_quote + 1] == 32)
    if integer_is_micros:
        duration = np.where(dotted, duration, duration / 1e6)
    starts = lines.starts[keep]
    requests = Requests(
        status=status[keep],
        time=times[keep],
        size=np.nan_to_num(size_value[keep], nan=0.0).astype(np.int64),
        duration=np.where(trailing, duration, np.nan),
        request=strings(buf, req_start, req_end - req_start),
        user_agent=strings(buf, agent_start, agent_end - agent_start),
        line=keep.astype(np.int64) + first_line,
        ip=_ips(buf, starts),
    )
    return FastResult(requests, slow, int(blank.sum()), lines.starts, lines.ends)


def _request_end(buf: U8, start: I64, close: I64) -> I64:
    """End of the request's path: before ` HTTP/x` when the request names a protocol."""
    tail = windows(buf, np.maximum(close - 10, 0), 10)
    space = 9 - first_byte(tail[:, ::-1], 32)  # last space in the 10 bytes before the quote
    at = close - 10 + space
    proto = windows(buf, np.maximum(at + 1, 0), 5)
    is_http = (proto == np.frombuffer(b"HTTP/", dtype=np.uint8)).all(axis=1)
    return np.where((space >= 0) & (at > start) & is_http, at, close)


def _ips(buf: U8, starts: I64) -> pl.Series:
    """Client addresses: each line up to its first space (48 bytes at most)."""
    head = windows(buf, starts, 48)
    return strings(buf, starts, first_byte(head, 32))
