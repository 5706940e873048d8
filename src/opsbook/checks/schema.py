"""The JSON shape of check results, shared by `opsbook check --json` and the API.

It follows seed runbook 000's `runHealthChecks()`: `{status, checks: [{name, status, latency,
error, timestamp}], timestamp}`, with `latency` in milliseconds as there, plus `type`,
`critical` and the run's metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from opsbook.checks.model import CheckResult
from opsbook.checks.rollup import rollup


def result_json(result: CheckResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "type": result.type,
        "critical": result.critical,
        "status": result.status.value,
        "latency": round(result.latency * 1000, 1),
        "error": result.error,
        "timestamp": result.at.isoformat(),
        "metrics": [
            {"name": s.name, "labels": dict(s.labels), "value": s.value} for s in result.samples
        ],
    }


def report_json(results: Sequence[CheckResult], at: datetime) -> dict[str, Any]:
    return {
        "status": rollup(r.status for r in results).value,
        "checks": [result_json(r) for r in results],
        "timestamp": at.isoformat(),
    }
