"""One path for everything the CLI prints: Rich for people, versioned JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console

SCHEMA_VERSION = 1
"""Version of every `--json` document; bumped only when a field is removed or changes meaning."""

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
"""Errors and warnings are never wrapped: a `file:line: message` stays one line for grep."""


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(payload: Mapping[str, Any]) -> str:
    document = {"schema_version": SCHEMA_VERSION, **payload}
    return json.dumps(document, indent=2, default=_default, ensure_ascii=False)


def emit_json(payload: Mapping[str, Any]) -> None:
    """Print one JSON document on stdout, with `schema_version` first."""
    sys.stdout.write(to_json(payload) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", markup=True, highlight=False)


def error(message: str) -> None:
    err_console.print(f"[red]error:[/] {escape(message)}")


def escape(text: str) -> str:
    """Text safe to print through Rich markup."""
    from rich.markup import escape as _escape

    return _escape(text)
