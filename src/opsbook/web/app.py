"""`create_app(runtime)`: the FastAPI application for one runtime. No module-level state."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsbook import __version__
from opsbook.cluster.metrics import ClusterCollector
from opsbook.runtime import Runtime
from opsbook.web import errors
from opsbook.web.api import accounts as accounts_api
from opsbook.web.api import alerts as alerts_api
from opsbook.web.api import backups as backups_api
from opsbook.web.api import checks as checks_api
from opsbook.web.api import cluster as cluster_api
from opsbook.web.api import health as health_api
from opsbook.web.api import inbox as inbox_api
from opsbook.web.api import incidents as incidents_api
from opsbook.web.api import jobs as jobs_api
from opsbook.web.api import journal as journal_api
from opsbook.web.api import runbooks as runbooks_api
from opsbook.web.api import runs as runs_api
from opsbook.web.backup_tasks import BackupTasks
from opsbook.web.checks import CheckBoard, CheckCollector
from opsbook.web.health import HealthReport, store_health
from opsbook.web.incidents_status import public_incidents
from opsbook.web.jobs import JobLauncher
from opsbook.web.maintenance_status import maintenance_windows
from opsbook.web.metrics import MetricsMiddleware, ServerMetrics
from opsbook.web.pages import apidocs, auth, checks, dashboard, respond, runbooks, runs, status
from opsbook.web.pages import backups as backups_pages
from opsbook.web.pages import schedules as schedules_pages
from opsbook.web.runbooks import RunbookCatalog
from opsbook.web.runs import RunLauncher
from opsbook.web.security import GuardedRoute, PrincipalCache
from opsbook.web.status import StatusSource
from opsbook.web.templating import STATIC, make_templates

NAV_ITEMS = (
    ("/", "Dashboard"),
    ("/checks", "Checks"),
    ("/runbooks", "Runbooks"),
    ("/runs", "Runs"),
    ("/alerts", "Alerts"),
    ("/incidents", "Incidents"),
    ("/schedules", "Schedules"),
    ("/backups", "Backups"),
    ("/journal", "Journal"),
    ("/status", "Status"),
    ("/api/docs", "API"),
)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Headers that keep pages from being framed, sniffed or fed scripts from elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_wrapper)


def create_app(runtime: Runtime) -> FastAPI:
    """The HTTP application: API, pages and status page over `runtime`'s store and clock."""
    settings = runtime.config.settings.server
    app = FastAPI(
        title="opsbook",
        version=__version__,
        summary="Runbooks, checks, alerts, incidents and runs of one operations team.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.router.route_class = GuardedRoute
    app.state.runtime = runtime
    app.state.templates = make_templates(runtime.clock)
    app.state.templates.env.globals["nav_items"] = NAV_ITEMS
    app.state.checks = board = CheckBoard(runtime)
    app.state.health = HealthReport(
        runtime, (store_health, board.health) if board.configured else (store_health,)
    )
    app.state.principals = PrincipalCache()
    app.state.runbooks = RunbookCatalog(runtime.config)
    app.state.runs = RunLauncher(runtime)
    app.state.jobs = JobLauncher(runtime)
    app.state.backup_tasks = BackupTasks(runtime)
    app.state.stopping = asyncio.Event()
    app.state.status_sources = list[StatusSource](
        [board.components, public_incidents, maintenance_windows]
    )
    app.state.metrics = ServerMetrics(
        runtime, [CheckCollector(board), ClusterCollector(runtime.db, runtime.clock)]
    )
    errors.install(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        health_api.router(settings),
        accounts_api.router,
        alerts_api.router,
        checks_api.router,
        cluster_api.router,
        inbox_api.router,
        incidents_api.router,
        journal_api.router,
        runbooks_api.router,
        runs_api.router,
        jobs_api.router,
        backups_api.router,
        auth.router,
        dashboard.router,
        status.router,
        apidocs.router,
        checks.router,
        runbooks.router,
        runs.router,
        respond.router,
        schedules_pages.router,
        backups_pages.router,
    ):
        app.include_router(router)
    return app
