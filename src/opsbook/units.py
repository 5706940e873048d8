"""Numbers with units as runbooks and config write them: durations, sizes, percentages.

Durations come back in seconds, sizes in bytes, percentages as fractions (5% -> 0.05).
"""

from __future__ import annotations

import re

_DURATION_UNITS = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]+)")
_NUMBER = re.compile(r"\s*[-+]?\d+(?:\.\d+)?\s*")


def parse_duration(text: str | float | int) -> float:
    """Seconds in `text`: `90`, `2s`, `500ms`, `5m`, `1h30m`, `15 minutes`, `1 hour`, `1.5d`.

    A bare number is seconds. Raises ValueError with the offending text.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text}")
        return float(text)
    raw = text.strip()
    if _NUMBER.fullmatch(raw):
        value = float(raw)
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {text!r}")
        return value
    total, pos = 0.0, 0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        unit = _DURATION_UNITS.get(match[2].lower())
        if unit is None:
            raise ValueError(
                f"unknown duration unit {match[2]!r} in {text!r} (use ms, s, m, h, d, w)"
            )
        total += float(match[1]) * unit
        pos = match.end()
    if pos == 0 or raw[pos:].strip():
        raise ValueError(f"not a duration: {text!r} (write it like 30s, 5m, 1h or 1h30m)")
    return total


def parse_size(text: str | int | float) -> float:
    """Bytes in `text`: `512`, `2GB`, `1.5 GiB`, `10M`. Decimal units are powers of 1000."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (write it like 512MB or 2GB)")
    unit = _SIZE_UNITS.get((match[2] or "b").lower())
    if unit is None:
        raise ValueError(f"unknown size unit {match[2]!r} in {text!r}")
    return float(match[1]) * unit


def parse_percent(text: str | int | float) -> float:
    """A fraction from `5%` (0.05) or a bare fraction `0.05`."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    raw = str(text).strip()
    if raw.endswith("%"):
        return float(raw[:-1]) / 100.0
    return float(raw)


def format_duration(seconds: float) -> str:
    """A short human form: `45s`, `15m`, `1h`, `1h30m`, `2d`."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds == int(seconds) else f"{seconds:.1f}s"
    parts = []
    remaining = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])


def format_size(count: float | None) -> str:
    """Bytes in a short human form: `812 B`, `4.2 KiB`, `73.4 MiB`, `1.2 GiB`; `—` for None."""
    if count is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
