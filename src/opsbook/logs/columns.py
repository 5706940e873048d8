"""Column helpers: byte windows, numbers and zero-copy string columns over a block of bytes.

A block is a NumPy `uint8` array holding whole lines, padded at the end with `PAD` newlines so
a fixed-width window that starts inside the block never runs off it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

PAD = 64
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

_MASK16 = np.array([[0xFF] * k + [0] * (16 - k) for k in range(17)], dtype=np.uint8)


def padded(data: bytes | memoryview) -> U8:
    """`data` as a uint8 array followed by PAD newline bytes."""
    buf = np.empty(len(data) + PAD, dtype=np.uint8)
    buf[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    buf[len(data) :] = 10
    return buf


def windows(buf: U8, at: I64, width: int) -> U8:
    """A (len(at), width) copy of the bytes starting at each offset in `at`."""
    if len(at) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    view: Any = sliding_window_view(buf, width)
    return np.asarray(view[at], dtype=np.uint8)


def first_byte(rows: U8, byte: int) -> I64:
    """Column of the first `byte` in each row, or the row width when there is none."""
    hit = rows == byte
    found = hit.any(axis=1)
    return np.asarray(np.where(found, hit.argmax(axis=1), rows.shape[1]), dtype=np.int64)


NUMBER_WIDTH = 12
_ENDS = np.zeros(256, dtype=bool)
_ENDS[[9, 10, 13, 32]] = True


def parse_numbers(rows: U8) -> tuple[F64, Mask]:
    """The number at the start of each row (`123`, `0.302`; `-` gives NaN) and whether it had a dot.

    A number must end at a space, tab, CR or newline within the row; anything else gives NaN.
    Reads column by column (a dozen vector steps), not row by row.
    """
    n, width = rows.shape
    columns = np.ascontiguousarray(rows.T)
    value = np.zeros(n)
    scale = np.ones(n)
    active = np.ones(n, dtype=bool)
    after_dot = np.zeros(n, dtype=bool)
    dots = np.zeros(n, dtype=np.int8)
    digits = np.zeros(n, dtype=np.int16)
    ended_well = np.zeros(n, dtype=bool)
    for j in range(width):
        byte = columns[j]
        digit = byte - np.uint8(48)  # wraps below '0', so one comparison finds digits
        is_digit = digit < 10
        step = active & is_digit
        value = np.where(step, value * 10 + digit, value)
        scale = np.where(step & after_dot, scale * 10, scale)
        digits += step
        dot = active & (byte == 46)
        dots += dot
        after_dot |= dot
        ended = active & ~is_digit & ~dot
        ended_well |= ended & _ENDS[byte]
        active &= ~ended
    valid = ended_well & (dots <= 1) & (digits > 0)
    return np.where(valid, value / scale, np.nan), dots == 1


def strings(buf: U8, starts: I64, lengths: I64) -> pl.Series:
    """A String column of `buf[start:start+length]` per row, without copying the bytes.

    Builds Arrow string views (16 bytes per row: length, then the bytes inline when they fit in
    12, else a 4-byte prefix and the offset into `buf`). The column keeps `buf` alive.
    """
    n = len(starts)
    if n == 0:
        return pl.Series(values=[], dtype=pl.String)
    lens = lengths.astype(np.int32)
    head = windows(buf, starts, 16)
    head &= _MASK16[np.minimum(lengths, 16)]
    views = np.empty((n, 4), dtype=np.int32)
    views[:, 0] = lens
    views[:, 1:] = head.view(np.int32)[:, :3]
    long = lens > 12
    views[long, 2] = 0
    views[long, 3] = starts[long]
    array = pa.Array.from_buffers(
        pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(buf)]
    )
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series
