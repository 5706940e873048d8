"""Field types shared by every section of opsbook.yaml."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from opsbook.units import format_duration, parse_duration, parse_percent, parse_size


def _duration(value: Any) -> float:
    return parse_duration(value)


def _size(value: Any) -> float:
    return parse_size(value)


def _percent(value: Any) -> float:
    return parse_percent(value)


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""Seconds; written `30s`, `5m`, `1h`, `1h30m`, `500ms` or a bare number of seconds."""

Size = Annotated[float, BeforeValidator(_size)]
"""Bytes; written `512MB`, `2GB`, `1GiB` or a bare number of bytes."""

Fraction = Annotated[float, BeforeValidator(_percent)]
"""A fraction; written `5%` or `0.05`."""
