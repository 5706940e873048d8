"""Running one check: its probe inside its own timeout, then the result and its samples.

A probe is an async function `(spec, ctx, obs) -> None` that records what it sees in `obs`; an
exception is a failure with the exception's text. Each run is bounded by `asyncio.timeout`, so a
hung target costs only that check its timeout, and never blocks the event loop: blocking calls
(psutil, file reads) go to a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opsbook.checks.context import ProbeContext, describe_error
from opsbook.checks.kinds import PROBES, Probe
from opsbook.checks.model import CheckResult, Observation, Outcome, status_of
from opsbook.checks.placement import labels_for
from opsbook.config.checks import CheckConfig
from opsbook.metrics.model import Sample
from opsbook.units import format_duration

__all__ = ["ProbeContext", "describe_error", "probe_for", "run_check"]


def probe_for(kind: str) -> Probe:
    return PROBES[kind]


async def run_check(
    spec: CheckConfig, ctx: ProbeContext, previous: dict[str, Any] | None = None
) -> CheckResult:
    """Run `spec` once within its timeout; never raises for the target's trouble."""
    at = ctx.clock.now()
    started = ctx.clock.monotonic()
    obs = Observation(previous=previous)
    try:
        async with asyncio.timeout(spec.timeout):
            await probe_for(spec.type)(spec, ctx, obs)
    except TimeoutError:
        obs.fail(f"timed out after {format_duration(spec.timeout)}")
        obs.cursor = None
    except Exception as exc:  # noqa: BLE001 - any error of the target is the check's result
        obs.fail(describe_error(exc))
        obs.cursor = None
    latency = max(0.0, ctx.clock.monotonic() - started)
    return _result(spec, ctx, obs, at, latency)


def _result(
    spec: CheckConfig, ctx: ProbeContext, obs: Observation, at: Any, latency: float
) -> CheckResult:
    labels = labels_for(spec.name)
    up = obs.outcome is not Outcome.FAIL
    samples = [
        Sample("check_up", labels, 1.0 if up else 0.0, at),
        Sample("check_duration_seconds", labels, latency, at),
    ]
    for m in obs.measurements:
        samples.append(Sample(m.name, {**m.labels, **labels}, m.value, at))
    return CheckResult(
        name=spec.name,
        type=spec.type,
        critical=spec.critical,
        outcome=obs.outcome,
        status=status_of(obs.outcome, spec.critical),
        error=ctx.redactor.redact(obs.message) if obs.messages else None,
        latency=latency,
        at=at,
        samples=samples,
        cursor=obs.cursor,
    )
