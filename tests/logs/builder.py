"""Access, JSON and application log lines with known content, for exact-count tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"


def clf_time(when: datetime) -> str:
    return when.strftime("%d/%b/%Y:%H:%M:%S +0000")


def access(
    ip: str = "10.0.0.1",
    request: str = "GET /api/songs/1 HTTP/1.1",
    status: int = 200,
    size: int | str = 512,
    *,
    when: datetime = START,
    agent: str = AGENT,
    duration: str | None = "0.120",
) -> str:
    line = f'{ip} - - [{clf_time(when)}] "{request}" {status} {size} "-" "{agent}"'
    return line + (f" {duration}" if duration is not None else "")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
