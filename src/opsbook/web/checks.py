"""What the server shows of the health checks: their states with group and criticality from the
config, latency history for charts, and the status page's components.

`CheckBoard` keeps one snapshot of every check's state for at most a second, so the dashboard,
`/health` and `/api/v1/checks` under load read memory, not the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.checks import status as check_status
from opsbook.checks.model import STATUS_VALUES, Status
from opsbook.checks.tables import CheckState
from opsbook.config.checks import CheckConfig
from opsbook.metrics import query
from opsbook.runtime import Runtime
from opsbook.web import charts
from opsbook.web.snapshot import Snapshot
from opsbook.web.status import DEGRADED, OPERATIONAL, OUTAGE, Component, StatusContribution

SNAPSHOT_SECONDS = 1.0
COLOUR = {
    Status.HEALTHY: "green",
    Status.DEGRADED: "yellow",
    Status.UNHEALTHY: "red",
    Status.UNKNOWN: "unknown",
}
_ORDER = {Status.UNHEALTHY: 0, Status.DEGRADED: 1, Status.UNKNOWN: 2, Status.HEALTHY: 3}


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    type: str
    group: str
    critical: bool
    status: str
    colour: str  # green | yellow | red | unknown
    stale: bool
    pending: bool
    since: datetime | None
    last_run_at: datetime | None
    latency_ms: float | None
    error: str | None
    interval_seconds: float
    latency_warn_ms: float | None = None  # a slower answer is degraded (`max_response_time`)
    latency_fail_ms: float | None = None  # a slower answer fails (`timeout`)

    @property
    def latency_colour(self) -> str:
        """The last latency against the check's own thresholds: green, yellow or red."""
        if self.latency_ms is None:
            return "unknown"
        if self.latency_fail_ms is not None and self.latency_ms >= self.latency_fail_ms:
            return "red"
        if self.latency_warn_ms is not None and self.latency_ms > self.latency_warn_ms:
            return "yellow"
        return "green"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "group": self.group,
            "critical": self.critical,
            "status": self.status,
            "colour": self.colour,
            "stale": self.stale,
            "pending": self.pending,
            "since": self.since.isoformat() if self.since else None,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "interval_seconds": self.interval_seconds,
            "latency_warn_ms": self.latency_warn_ms,
            "latency_fail_ms": self.latency_fail_ms,
        }


def read_rows(runtime: Runtime, session: Session) -> list[CheckRow]:
    """Every configured check's state. Plain columns, not ORM objects: a thousand checks are
    read in a few milliseconds, so the snapshot never holds the interpreter for long."""
    specs = {spec.name: spec for spec in runtime.config.settings.checks}
    now = runtime.clock.now()
    columns = select(
        CheckState.name,
        CheckState.type,
        CheckState.status,
        CheckState.status_since,
        CheckState.failing,
        CheckState.failures_in_row,
        CheckState.last_run_at,
        CheckState.last_latency_seconds,
        CheckState.last_error,
        CheckState.interval_seconds,
        CheckState.timeout_seconds,
    ).where(CheckState.active.is_(True))
    rows = []
    for state in session.execute(columns):
        spec = specs.get(state.name)
        if spec is None:
            continue  # removed from the config since it last ran
        stale = check_status.is_stale(state, now)  # type: ignore[arg-type]
        status = Status.UNKNOWN if stale else Status(state.status)
        latency = state.last_latency_seconds
        rows.append(
            CheckRow(
                name=state.name,
                type=state.type,
                group=spec.group,
                critical=spec.critical,
                status=status.value,
                colour=colour_of(status, failing=state.failing),
                stale=stale,
                pending=state.failures_in_row > 0 and not state.failing,
                since=state.status_since,
                last_run_at=state.last_run_at,
                latency_ms=round(latency * 1000, 1) if latency is not None else None,
                error=state.last_error,
                interval_seconds=spec.interval,
                **latency_thresholds(spec),
            )
        )
    seen = {row.name for row in rows}
    rows.extend(_not_yet_run(spec) for name, spec in specs.items() if name not in seen)
    return sorted(rows, key=lambda r: (_ORDER[Status(r.status)], r.name))


def colour_of(status: Status, *, failing: bool) -> str:
    """The band a check is in: red once a failure is confirmed (past its fail threshold, even
    when it is not critical and so only `degraded` for the rollup), yellow past a warning
    threshold, green when all is well, unknown without a recent result."""
    if status == Status.DEGRADED and failing:
        return COLOUR[Status.UNHEALTHY]
    return COLOUR[status]


def latency_thresholds(spec: CheckConfig) -> dict[str, float | None]:
    """The latencies (ms) past which the check is degraded (`max_response_time`, where the
    kind has one) or fails (`timeout`)."""
    warn = getattr(spec, "max_response_time", None)
    return {
        "latency_warn_ms": warn * 1000 if warn is not None else None,
        "latency_fail_ms": spec.timeout * 1000,
    }


def _not_yet_run(spec: CheckConfig) -> CheckRow:
    """A configured check the runner has not recorded yet (the server just started): unknown."""
    return CheckRow(
        name=spec.name,
        type=spec.type,
        group=spec.group,
        critical=spec.critical,
        status=Status.UNKNOWN.value,
        colour=COLOUR[Status.UNKNOWN],
        stale=False,
        pending=False,
        since=None,
        last_run_at=None,
        latency_ms=None,
        error=None,
        interval_seconds=spec.interval,
        **latency_thresholds(spec),
    )


@dataclass
class BoardState:
    rows: list[CheckRow]
    pages: dict[tuple[str, str, int, int], tuple[bytes, int]] = field(default_factory=dict)

    def page(self, status: str, group: str, limit: int, offset: int) -> tuple[bytes, int]:
        """A page of checks as the JSON body of GET /api/v1/checks, and how many match;
        each page is encoded once per snapshot."""
        key = (status, group, limit, offset)
        found = self.pages.get(key)
        if found is None:
            rows = [
                r
                for r in self.rows
                if (not status or r.status == status) and (not group or r.group == group)
            ]
            body = json.dumps([r.as_json() for r in rows[offset : offset + limit]]).encode()
            found = (body, len(rows))
            if len(self.pages) < 256:
                self.pages[key] = found
        return found


class CheckBoard:
    """Every check's state, read from the store at most once per SNAPSHOT_SECONDS."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.snapshot = Snapshot(self._read, SNAPSHOT_SECONDS)

    @property
    def configured(self) -> bool:
        return bool(self.runtime.config.settings.checks)

    def _read(self) -> BoardState:
        with self.runtime.db.read() as session:
            return BoardState(read_rows(self.runtime, session))

    def rows(self) -> list[CheckRow]:
        """The rows, for code running in a thread."""
        return self.snapshot.get_sync().rows

    def health(self, _runtime: Runtime) -> list[dict[str, Any]]:
        """/health entries, one per check."""
        entries = []
        for row in self.rows():
            entry: dict[str, Any] = {
                "name": row.name,
                "status": row.status,
                "critical": row.critical,
            }
            if row.error and row.status != Status.HEALTHY:
                entry["error"] = row.error
            elif row.latency_ms is not None:
                entry["latency"] = row.latency_ms
            entries.append(entry)
        return entries

    def components(self, _runtime: Runtime, _session: Session) -> StatusContribution:
        """Status page components: one per named check group, its worst state."""
        groups: dict[str, list[CheckRow]] = {}
        for row in self.rows():
            if row.group:
                groups.setdefault(row.group, []).append(row)
        components = []
        for name, rows in sorted(groups.items()):
            failing = sum(r.status != Status.HEALTHY for r in rows)
            if any(r.status == Status.UNHEALTHY for r in rows):
                state = OUTAGE
            elif failing:
                state = DEGRADED
            else:
                state = OPERATIONAL
            detail = f"{failing} of {len(rows)} checks failing" if failing else ""
            components.append(Component(name=name, status=state, detail=detail))
        return StatusContribution(components=components)


def latency_points(
    session: Session, names: list[str], start: datetime, end: datetime
) -> dict[str, list[charts.Point]]:
    """Latency (ms) of each named check over [start, end], for charts."""
    found: dict[str, list[charts.Point]] = {}
    for name in names:
        points: list[charts.Point] = []
        for series in query.series(session, "check_duration_seconds", {"check": name}, start, end):
            points += [charts.Point(p.at, p.value * 1000) for p in series.points]
        found[name] = sorted(points, key=lambda p: p.at)
    return found


def history_window(now: datetime, hours: float) -> tuple[datetime, datetime]:
    return now - timedelta(hours=hours), now


class CheckCollector:
    """The checks' latest state for /metrics, from the board's snapshot (no store reads per
    scrape): `check_status` (0 healthy, 1 degraded, 2 unhealthy; unknown checks are left out),
    `check_duration_seconds` of the last run, and `opsbook_checks` counted by status."""

    def __init__(self, board: CheckBoard) -> None:
        self.board = board

    def describe(self) -> list[Metric]:
        return []  # nothing to read when the collector is registered

    def collect(self) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            "check_status",
            "Check status: 0 healthy, 1 degraded, 2 unhealthy.",
            labels=["check", "group"],
        )
        duration = GaugeMetricFamily(
            "check_duration_seconds", "Duration of the check's last run.", labels=["check", "group"]
        )
        counts = GaugeMetricFamily("opsbook_checks", "Checks by status.", labels=["status"])
        tally = dict.fromkeys((s.value for s in Status), 0)
        for row in self.board.rows() if self.board.configured else []:
            tally[row.status] += 1
            if row.status in STATUS_NUMBERS:
                status.add_metric([row.name, row.group], STATUS_NUMBERS[row.status])
            if row.latency_ms is not None:
                duration.add_metric([row.name, row.group], row.latency_ms / 1000)
        for name, count in tally.items():
            counts.add_metric([name], count)
        yield from (status, duration, counts)


STATUS_NUMBERS = {s.value: float(v) for s, v in STATUS_VALUES.items()}
