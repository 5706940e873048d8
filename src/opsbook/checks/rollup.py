"""One status for many checks, as seed runbooks define it.

Unhealthy when a critical check fails; degraded when only non-critical checks fail, a check
warns, or a check has no recent result; healthy otherwise (and with no checks at all).
"""

from __future__ import annotations

from collections.abc import Iterable

from opsbook.checks.model import Status


def rollup(statuses: Iterable[Status]) -> Status:
    """The overall status of checks whose own statuses are `statuses`."""
    seen = set(statuses)
    if Status.UNHEALTHY in seen:
        return Status.UNHEALTHY
    if seen - {Status.HEALTHY}:
        return Status.DEGRADED
    return Status.HEALTHY
