"""The status page's maintenance windows, from `maintenance:` in the config (the windows that
hold back alerts): those open now and those starting within a week.

Only a window's name, its comment and its times are shown, and the components (check groups)
it covers: a group is covered when the window's matchers match one of its checks' labels
(`check`, `group` and the check's own `labels`); a window without matchers covers them all.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsbook.alerts.windows import Window, next_occurrence
from opsbook.runtime import Runtime
from opsbook.web.status import MaintenanceWindow, StatusContribution

UPCOMING = timedelta(days=7)


def group_labels(runtime: Runtime) -> dict[str, list[dict[str, str]]]:
    """Each check group with the labels of its checks, as alerts on them carry them."""
    groups: dict[str, list[dict[str, str]]] = {}
    for spec in runtime.config.settings.checks:
        if spec.group:
            labels = {**spec.labels, "check": spec.name, "group": spec.group}
            groups.setdefault(spec.group, []).append(labels)
    return groups


def maintenance_windows(runtime: Runtime, _session: Session) -> StatusContribution:
    configs = runtime.config.settings.maintenance
    if not configs:
        return StatusContribution()
    now = runtime.clock.now()
    groups = group_labels(runtime)
    shown = []
    for window in (Window.from_config(config) for config in configs):
        found = next_occurrence(window, now, UPCOMING)
        if found is None:
            continue
        covered = tuple(
            name for name, checks in sorted(groups.items()) if any(map(window.applies_to, checks))
        )
        shown.append(
            MaintenanceWindow(
                title=window.name,
                description=window.config.comment,
                starts_at=found[0],
                ends_at=found[1],
                active=found[0] <= now,
                components=covered,
            )
        )
    return StatusContribution(maintenance=shown)
