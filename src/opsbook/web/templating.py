"""The Jinja2 environment of the pages: filters for times and durations, and the chart helpers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from opsbook import __version__
from opsbook.clock import Clock
from opsbook.units import format_duration, format_size
from opsbook.web import charts

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def make_templates(clock: Clock) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters["ago"] = lambda when: ago(when, clock.now())
    env.filters["stamp"] = stamp
    env.filters["duration"] = lambda seconds: format_duration(seconds) if seconds else "0s"
    env.filters["size"] = format_size
    env.globals["version"] = __version__
    env.globals["sparkline"] = charts.sparkline
    env.globals["line_chart"] = charts.line_chart
    return templates


def stamp(when: datetime | None) -> str:
    """`2026-01-05 12:00:03 UTC`, or an em dash."""
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "—"


def ago(when: datetime | None, now: datetime) -> str:
    """`12s ago`, `4m ago`, `3h ago`, `2d ago` (or `in 5m` for the future)."""
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            text = f"{int(seconds // size)}{unit}"
            break
    else:
        text = f"{int(seconds)}s"
    return f"in {text}" if future else f"{text} ago"
