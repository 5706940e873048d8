"""Default alert rules over the backup metrics, in the shape of the `alerts:` config section."""

from __future__ import annotations

from typing import Any

from opsbook.config import Config
from opsbook.units import format_duration


def default_rules(config: Config) -> list[dict[str, Any]]:
    """Per target: past its RPO, a failed backup or restore test, (with an RTO) a slow
    restore, and (with an off-site store) a failed off-site copy."""
    rules: list[dict[str, Any]] = []
    for target in config.settings.backups:
        name = target.name
        labels = {"target": name}
        rules.append(
            {
                "name": f"backup_past_rpo_{name}",
                "expr": f'backup_age_seconds{{target="{name}"}} > {target.rpo:g}',
                "for": "0s",
                "severity": "critical",
                "message": f"The newest good backup of {name} is older than its RPO of "
                f"{format_duration(target.rpo)}",
                "labels": labels,
            }
        )
        rules.append(
            {
                "name": f"backup_failed_{name}",
                "expr": f'backup_last_failed{{target="{name}"}} == 1',
                "for": "0s",
                "severity": "critical",
                "message": f"The last backup or restore test of {name} failed "
                f"(opsbook backup list --target {name})",
                "labels": labels,
            }
        )
        if target.rto is not None:
            rules.append(
                {
                    "name": f"backup_restore_past_rto_{name}",
                    "expr": f'backup_restore_seconds{{target="{name}"}} > {target.rto:g}',
                    "for": "0s",
                    "severity": "warning",
                    "message": f"Restoring {name} took longer than its RTO of "
                    f"{format_duration(target.rto)}",
                    "labels": labels,
                }
            )
        if target.offsite is not None:
            rules.append(
                {
                    "name": f"backup_offsite_failed_{name}",
                    "expr": f'backup_offsite_failed{{target="{name}"}} == 1',
                    "for": "0s",
                    "severity": "warning",
                    "message": f"A backup of {name} could not be copied off-site to "
                    f"{target.offsite.url}; it is kept locally and the next backup retries "
                    f"(opsbook backup list --target {name})",
                    "labels": labels,
                }
            )
    return rules
