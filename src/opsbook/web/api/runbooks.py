"""/api/v1/runbooks: the configured runbooks and their parsed form."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from opsbook.accounts.model import Role
from opsbook.runbook.model import Runbook
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.runbooks import RunbookCatalog
from opsbook.web.security import needs

router = api_router(prefix=API_PREFIX, tags=["runbooks"])


class RunbookSummary(BaseModel):
    id: str = Field(description="Used in URLs: the file name without .md.")
    path: str
    title: str
    sha256: str
    procedures: int
    steps: int
    alert_rules: int
    schedules: int
    warnings: int


def summary(runbook_id: str, book: Runbook) -> RunbookSummary:
    return RunbookSummary(
        id=runbook_id,
        path=book.source,
        title=book.title,
        sha256=book.sha256,
        procedures=len(book.procedures),
        steps=sum(len(p.steps) for p in book.procedures),
        alert_rules=len(book.alert_rules),
        schedules=len(book.schedules),
        warnings=len(book.warnings),
    )


def catalog(request: Request) -> RunbookCatalog:
    found: RunbookCatalog = request.app.state.runbooks
    return found


def _summaries(cat: RunbookCatalog) -> list[RunbookSummary]:
    return [summary(item.id, cat.parse(item)) for item in cat.files()]


@router.get("/runbooks", openapi_extra=needs(Role.VIEWER))
async def list_runbooks(request: Request) -> list[RunbookSummary]:
    """The runbooks named by the config's `runbooks`, with what was found in each."""
    return await run_in_threadpool(_summaries, catalog(request))


@router.get("/runbooks/{runbook_id}", openapi_extra=needs(Role.VIEWER))
async def get_runbook(request: Request, runbook_id: str) -> dict[str, Any]:
    """The parsed runbook: sections, procedures with parts and steps, and everything extracted
    (alert rules, schedules, thresholds, severities, escalation, templates, checklists,
    variables, warnings), each with its source line."""
    cat = catalog(request)
    book = await run_in_threadpool(lambda: cat.parse(cat.find(runbook_id)))
    return {"id": runbook_id, **asdict(book)}
