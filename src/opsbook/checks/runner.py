"""Running checks once, all at once: what `opsbook check` and the health endpoint do."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from opsbook.checks.model import CheckResult
from opsbook.checks.probe import ProbeContext, run_check
from opsbook.config.checks import CheckConfig


async def run_once(checks: Sequence[CheckConfig], ctx: ProbeContext) -> list[CheckResult]:
    """Run every check concurrently, each within its own timeout; results in the given order."""
    try:
        return list(await asyncio.gather(*(run_check(spec, ctx) for spec in checks)))
    finally:
        await ctx.aclose()
