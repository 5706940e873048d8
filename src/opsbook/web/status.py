"""What the public status page shows, gathered from the domains that feed it.

Each source adds components (one per check group), incidents with their public updates, or
maintenance windows. Only what a source marks public reaches the page: no check names, hosts or
error text unless the check group publishes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from opsbook.runtime import Runtime

OPERATIONAL, DEGRADED, OUTAGE, MAINTENANCE = "operational", "degraded", "outage", "maintenance"
_WORST = (OUTAGE, DEGRADED, MAINTENANCE, OPERATIONAL)


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    status: str  # operational | degraded | outage | maintenance
    detail: str = ""  # e.g. "2 of 5 checks failing"


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    at: datetime
    status: str
    text: str


@dataclass(frozen=True, slots=True)
class PublicIncident:
    title: str
    status: str  # investigating | identified | monitoring | resolved
    severity: str
    started_at: datetime
    resolved_at: datetime | None = None
    updates: tuple[PublicUpdate, ...] = ()


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    title: str
    starts_at: datetime
    ends_at: datetime | None
    active: bool
    components: tuple[str, ...] = ()
    description: str = ""


@dataclass
class StatusContribution:
    components: list[Component] = field(default_factory=list)
    incidents: list[PublicIncident] = field(default_factory=list)
    maintenance: list[MaintenanceWindow] = field(default_factory=list)


StatusSource = Callable[[Runtime, Session], StatusContribution]


@dataclass
class StatusPage:
    title: str
    description: str
    updated_at: datetime
    components: list[Component]
    incidents: list[PublicIncident]
    maintenance: list[MaintenanceWindow]

    @property
    def overall(self) -> str:
        states = {c.status for c in self.components}
        if any(i.resolved_at is None for i in self.incidents):
            states.add(DEGRADED)
        return next((s for s in _WORST if s in states), OPERATIONAL)

    @property
    def headline(self) -> str:
        return {
            OPERATIONAL: "All systems operational",
            DEGRADED: "Some systems are degraded",
            OUTAGE: "Major outage",
            MAINTENANCE: "Maintenance in progress",
        }[self.overall]


def build_status(runtime: Runtime, sources: Sequence[StatusSource]) -> StatusPage:
    settings = runtime.config.settings.server.status_page
    merged = StatusContribution()
    with runtime.db.read() as session:
        for source in sources:
            part = source(runtime, session)
            merged.components += part.components
            merged.incidents += part.incidents
            merged.maintenance += part.maintenance
    return StatusPage(
        title=settings.title,
        description=settings.description,
        updated_at=runtime.clock.now(),
        components=under_maintenance(merged.components, merged.maintenance),
        incidents=sorted(merged.incidents, key=lambda i: i.started_at, reverse=True),
        maintenance=sorted(merged.maintenance, key=lambda m: m.starts_at),
    )


def under_maintenance(
    components: list[Component], windows: Sequence[MaintenanceWindow]
) -> list[Component]:
    """Components an open maintenance window covers show as under maintenance, whatever their
    checks say."""
    covered = {name for window in windows if window.active for name in window.components}
    return [
        replace(c, status=MAINTENANCE, detail="") if c.name in covered else c for c in components
    ]
