"""/health (public rollup), /metrics (Prometheus) and /openapi.json."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from opsbook.accounts.model import Role
from opsbook.config.server import ServerConfig
from opsbook.web.api import api_router
from opsbook.web.health import UNHEALTHY, HealthReport
from opsbook.web.security import PUBLIC, needs


class CheckHealth(BaseModel):
    name: str
    status: str = Field(description="healthy, degraded or unhealthy")
    critical: bool = Field(description="An unhealthy critical check makes the rollup unhealthy.")
    latency: float | None = Field(default=None, description="Milliseconds, when measured.")
    error: str | None = None


class Health(BaseModel):
    status: str = Field(description="healthy, degraded or unhealthy (the last answers 503)")
    checks: list[CheckHealth]
    timestamp: str


def router(settings: ServerConfig) -> APIRouter:
    routes = api_router(tags=["health"])

    @routes.get(
        "/health",
        openapi_extra=PUBLIC,
        response_model=Health,
        responses={503: {"model": Health, "description": "The rollup is unhealthy."}},
    )
    async def health(request: Request) -> Response:
        """The rollup of the store and every check; 503 when unhealthy."""
        cache: HealthReport = request.app.state.health
        report, body = await cache.snapshot.get()
        code = 503 if report["status"] == UNHEALTHY else 200
        return Response(
            body,
            status_code=code,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    metrics_access = PUBLIC if settings.public_metrics else needs(Role.VIEWER)

    @routes.get(
        "/metrics",
        openapi_extra=metrics_access,
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics(request: Request) -> Response:
        """opsbook's own metrics and its checks' metrics in Prometheus text format."""
        body = generate_latest(request.app.state.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @routes.get("/openapi.json", openapi_extra=needs(Role.VIEWER), include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        """This API described as OpenAPI 3."""
        return JSONResponse(request.app.openapi())

    return routes
