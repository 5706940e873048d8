"""Default alert rules over the job metrics, in the shape of the `alerts:` config section.

The alerts area loads these next to the configured rules; a configured rule with the same name
replaces a default one.
"""

from __future__ import annotations

from typing import Any

from opsbook.config import Config
from opsbook.units import format_duration


def default_rules(config: Config) -> list[dict[str, Any]]:
    """Two rules per enabled job: its last run failed, and it is overdue (dead man's switch)."""
    rules: list[dict[str, Any]] = []
    for spec in config.settings.schedules:
        if not spec.enabled:
            continue
        job = spec.name
        rules.append(
            {
                "name": f"job_failed_{job}",
                "expr": f'job_last_run_failed{{job="{job}"}} == 1',
                "for": "0s",
                "severity": "warning",
                "message": f"Job {job} failed its last run (opsbook jobs history {job})",
                "labels": {"job": job},
            }
        )
        rules.append(
            {
                "name": f"job_overdue_{job}",
                "expr": f'job_overdue{{job="{job}"}} == 1',
                "for": "0s",
                "severity": "critical",
                "message": f"Job {job} has not succeeded since its last fire plus "
                f"{format_duration(spec.grace)}",
                "labels": {"job": job},
            }
        )
    return rules
