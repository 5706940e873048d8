"""Message and annotation templates: `{{ $value }}` and `{{ $labels.NAME }}`, as Prometheus writes.

Supported: `$value` / `.Value` (the value with its unit, e.g. `7.3%`), `$labels.NAME` /
`.Labels.NAME`, and the pipes `humanize`, `humanizePercentage`, `humanizeDuration` and
`printf "%.2f"`. Anything else is an error when the config loads, not text in a 3 a.m. page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from opsbook.alerts.language.units import Unit, format_value
from opsbook.units import format_duration

_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_VALUE = re.compile(r"(?:\$value|\.Value)")
_LABEL = re.compile(r"(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)")
_PRINTF = re.compile(r'printf\s+"([^"]*)"')


@dataclass(frozen=True, slots=True)
class Context:
    value: float | None
    unit: Unit | None
    labels: Mapping[str, str]


def check_template(text: str) -> None:
    """Raise ValueError naming the first placeholder opsbook cannot fill."""
    for match in _PLACEHOLDER.finditer(text):
        _expand(match[1], Context(1.0, None, {}), strict=True)


def render(text: str, context: Context) -> str:
    return _PLACEHOLDER.sub(lambda m: _expand(m[1], context, strict=False), text)


def _expand(expression: str, context: Context, *, strict: bool) -> str:
    head, *pipes = [part.strip() for part in expression.split("|")]
    label = _LABEL.fullmatch(head)
    if label:
        return str(context.labels.get(label[1], ""))
    if not _VALUE.fullmatch(head):
        if strict:
            raise ValueError(
                f"unknown template field {{{{ {expression} }}}}: use {{{{ $value }}}} or "
                "{{ $labels.NAME }}"
            )
        return "{{ " + expression + " }}"
    return _pipe(context, pipes, strict=strict, expression=expression)


_PIPES: dict[str, Callable[[float], str]] = {
    "humanize": lambda value: format_value(value, None),
    "humanizePercentage": lambda value: f"{value * 100:.4g}%",
    "humanizeDuration": format_duration,
}


def _pipe(context: Context, pipes: list[str], *, strict: bool, expression: str) -> str:
    value = context.value
    if not pipes or value is None:
        return format_value(value, context.unit)
    pipe = pipes[0]
    if pipe in _PIPES:
        return str(_PIPES[pipe](value))
    printf = _PRINTF.fullmatch(pipe)
    if printf:
        try:
            return printf[1] % value
        except (TypeError, ValueError):
            if strict:
                raise ValueError(f"printf format {printf[1]!r} cannot print a number") from None
            return str(value)
    if strict:
        raise ValueError(f"unknown template function {pipe!r} in {{{{ {expression} }}}}")
    return format_value(value, context.unit)
