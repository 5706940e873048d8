from __future__ import annotations

import pytest

from opsbook.units import format_duration, parse_duration, parse_percent, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2s", 2),
        ("500ms", 0.5),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("15 min", 900),
        ("1 hour", 3600),
        ("24 hours", 86400),
        ("1.5d", 129600),
        ("90", 90),
        (30, 30),
    ],
)
def test_durations_read_as_seconds(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "5m later", "", "-3"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_sizes_read_as_bytes() -> None:
    assert parse_size("2GB") == 2_000_000_000
    assert parse_size("1GiB") == 1024**3
    assert parse_size(512) == 512


def test_percentages_read_as_fractions() -> None:
    assert parse_percent("5%") == pytest.approx(0.05)
    assert parse_percent("0.9") == pytest.approx(0.9)


def test_durations_format_short() -> None:
    assert [format_duration(s) for s in (0.25, 45, 900, 5400, 172800)] == [
        "250ms",
        "45s",
        "15m",
        "1h30m",
        "2d",
    ]
