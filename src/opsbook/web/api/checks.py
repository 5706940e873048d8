"""/api/v1/checks: every check's state, one check with its changes, and its latency history."""

from __future__ import annotations

from datetime import datetime

from fastapi import Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.checks import status as check_status
from opsbook.errors import NotFoundError
from opsbook.runtime import Runtime
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.checks import CheckBoard, history_window, latency_points
from opsbook.web.security import RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["checks"])


class CheckInfo(BaseModel):
    name: str
    type: str
    group: str
    critical: bool
    status: str = Field(description="healthy, degraded, unhealthy or unknown (no recent result)")
    colour: str = Field(
        description="green, yellow, red or unknown: the band the check is in (red once a "
        "failure is confirmed, even for a non-critical check whose status is degraded)"
    )
    stale: bool
    pending: bool = Field(description="Failing but not yet confirmed by flap control.")
    since: datetime | None
    last_run_at: datetime | None
    latency_ms: float | None
    error: str | None
    interval_seconds: float
    latency_warn_ms: float | None = Field(
        default=None, description="A slower answer is degraded (`max_response_time`)."
    )
    latency_fail_ms: float | None = Field(
        default=None, description="A slower answer fails (the check's `timeout`)."
    )


class Flip(BaseModel):
    at: datetime
    from_status: str
    to_status: str
    error: str | None


class HistoryPoint(BaseModel):
    at: datetime
    latency_ms: float


class CheckDetail(CheckInfo):
    flips: list[Flip]
    uptime_24h: float | None = Field(description="Up share of the observed runs; null: no data.")
    observed_24h: float = Field(description="Share of the last 24 h with results.")


def board(request: Request) -> CheckBoard:
    found: CheckBoard = request.app.state.checks
    return found


@router.get("/checks", openapi_extra=needs(Role.VIEWER), response_model=list[CheckInfo])
async def list_checks(
    request: Request,
    status: str = Query(default="", pattern="^(|healthy|degraded|unhealthy|unknown)$"),
    group: str = Query(default="", description="Only the checks of this status page group."),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> Response:
    """The configured checks, failing first, a page at a time (`X-Total-Count` says how many
    match); a snapshot at most a second old."""
    state = await board(request).snapshot.get()
    body, total = state.page(status, group, limit, offset)
    return Response(body, media_type="application/json", headers={"X-Total-Count": str(total)})


def _detail(runtime: Runtime, checks: CheckBoard, name: str) -> CheckDetail:
    row = next((r for r in checks.rows() if r.name == name), None)
    if row is None:
        raise NotFoundError(f"no check named {name!r}")
    start, end = history_window(runtime.clock.now(), 24)
    with runtime.db.read() as session:
        flips = check_status.flips(session, name, limit=50)
        uptime = check_status.uptime(session, name, start, end)
        return CheckDetail(
            **row.as_json(),
            flips=[
                Flip(at=f.at, from_status=f.from_status, to_status=f.to_status, error=f.error)
                for f in flips
            ],
            uptime_24h=uptime.up_ratio,
            observed_24h=uptime.observed_ratio,
        )


@router.get("/checks/{name}", openapi_extra=needs(Role.VIEWER))
async def get_check(request: Request, runtime: RuntimeDep, name: str) -> CheckDetail:
    """One check: its state, its last 50 status changes and its uptime over 24 hours."""
    return await run_in_threadpool(_detail, runtime, board(request), name)


@router.get("/checks/{name}/history", openapi_extra=needs(Role.VIEWER))
async def check_history(
    request: Request,
    runtime: RuntimeDep,
    name: str,
    hours: float = Query(default=24.0, gt=0, le=24 * 400),
) -> list[HistoryPoint]:
    """The check's latency over the last `hours` (raw samples, minute averages when older)."""

    def read() -> list[HistoryPoint]:
        if not any(r.name == name for r in board(request).rows()):
            raise NotFoundError(f"no check named {name!r}")
        start, end = history_window(runtime.clock.now(), hours)
        with runtime.db.read() as session:
            points = latency_points(session, [name], start, end)[name]
        return [HistoryPoint(at=p.at, latency_ms=round(p.value or 0.0, 2)) for p in points]

    result: list[HistoryPoint] = await run_in_threadpool(read)
    return result
