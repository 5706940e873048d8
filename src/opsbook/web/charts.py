"""Small SVG charts drawn on the server: no JavaScript, no library, readable without colour.

`sparkline` draws a few dozen points in a 120x24 box for the dashboard; `line_chart` draws a
check's history with a time axis, a value axis and the yellow/red threshold lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    value: float | None  # None: no value (the check failed or did not run)


def sparkline(points: Sequence[Point], *, width: int = 120, height: int = 24) -> Markup:
    """A polyline of the values, gaps where a value is missing; empty when nothing to draw."""
    values = [p.value for p in points if p.value is not None]
    if not values:
        return Markup("")
    top = max(values) or 1.0
    step = width / max(1, len(points) - 1)
    segments = _segments(
        [(i * step, p.value) for i, p in enumerate(points)],
        lambda v: height - 2 - (v / top) * (height - 4),
    )
    lines = "".join(
        f'<polyline class="spark-line" points="{_pts(seg)}"/>' for seg in segments if len(seg) > 1
    )
    dots = "".join(
        f'<circle class="spark-line" cx="{seg[0][0]:.1f}" cy="{seg[0][1]:.1f}" r="1"/>'
        for seg in segments
        if len(seg) == 1
    )
    label = f"latest {values[-1]:.0f}, max {top:.0f}"
    return Markup(  # noqa: S704 - numbers and escaped text only
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}">{lines}{dots}</svg>'
    )


def line_chart(
    points: Sequence[Point],
    *,
    unit: str = "",
    warn: float | None = None,
    fail: float | None = None,
    width: int = 720,
    height: int = 180,
) -> Markup:
    """A history chart with axes and dashed threshold lines; empty when nothing to draw."""
    values = [p.value for p in points if p.value is not None]
    if not values or len(points) < 2:
        return Markup("")
    left, bottom, top_pad = 48, 20, 8
    top = max([*values, *(t for t in (warn, fail) if t is not None)]) * 1.1 or 1.0
    start, end = points[0].at, points[-1].at
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = width - left - 4, height - bottom - top_pad

    def x(at: datetime) -> float:
        return left + (at - start).total_seconds() / span * plot_w

    def y(value: float) -> float:
        return top_pad + plot_h - value / top * plot_h

    parts = [_axes((left, top_pad, plot_w, plot_h), top, unit, (start, end))]
    for threshold, cls in ((warn, "chart-warn"), (fail, "chart-fail")):
        if threshold is not None:
            ty = y(threshold)
            right = left + plot_w
            parts.append(
                f'<line class="{cls}" x1="{left}" x2="{right}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            )
    for seg in _segments([(x(p.at), p.value) for p in points], y):
        if len(seg) > 1:
            parts.append(f'<polyline class="chart-line" points="{_pts(seg)}"/>')
        else:
            parts.append(
                f'<circle class="chart-line" cx="{seg[0][0]:.1f}" cy="{seg[0][1]:.1f}" r="2"/>'
            )
    label = f"{len(values)} values, {start:%H:%M} to {end:%H:%M}, max {max(values):.0f}{unit}"
    return Markup(  # noqa: S704 - numbers and escaped text only
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">{"".join(parts)}</svg>'
    )


def _axes(
    box: tuple[int, int, int, int], top: float, unit: str, span: tuple[datetime, datetime]
) -> str:
    left, top_pad, w, h = box
    start, end = span
    base = top_pad + h
    return (
        f'<line class="chart-axis" x1="{left}" x2="{left}" y1="{top_pad}" y2="{base}"/>'
        f'<line class="chart-axis" x1="{left}" x2="{left + w}" y1="{base}" y2="{base}"/>'
        f'<text class="chart-label" x="{left - 4}" y="{top_pad + 8}" text-anchor="end">'
        f"{top:.0f}{escape(unit)}</text>"
        f'<text class="chart-label" x="{left - 4}" y="{base}" text-anchor="end">0</text>'
        f'<text class="chart-label" x="{left}" y="{base + 14}">{start:%H:%M}</text>'
        f'<text class="chart-label" x="{left + w}" y="{base + 14}" text-anchor="end">'
        f"{end:%H:%M} UTC</text>"
    )


def _segments(
    raw: Sequence[tuple[float, float | None]], scale: Callable[[float], float]
) -> list[list[tuple[float, float]]]:
    """Runs of consecutive present values, each point scaled to (x, y)."""
    segments: list[list[tuple[float, float]]] = [[]]
    for px, value in raw:
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((px, scale(value)))
    return [seg for seg in segments if seg]


def _pts(seg: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
