"""Smoke queries after a restore: each must run and return a row whose first value is true."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opsbook.backups.model import RestoreCheck

Query = Callable[[str], Sequence[Any] | None]
"""Runs one SQL text and returns its first row (or None when there is none)."""


def run_smoke(queries: Sequence[str], query: Query, check: RestoreCheck) -> None:
    """Run every smoke query; record each result and a problem for each one that fails."""
    for sql in queries:
        try:
            row = query(sql)
        except Exception as exc:  # noqa: BLE001 - any database error fails the query
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            check.smoke.append({"sql": sql, "ok": False, "value": None, "error": error})
            check.problems.append(f"smoke query {sql!r} failed: {error}")
            continue
        value = row[0] if row else None
        ok = row is not None and value is not None and value is not False and value != 0
        check.smoke.append({"sql": sql, "ok": ok, "value": _plain(value), "error": ""})
        if not ok:
            got = "no row" if row is None else repr(value)
            check.problems.append(f"smoke query {sql!r} returned {got}")


def _plain(value: Any) -> Any:
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)
