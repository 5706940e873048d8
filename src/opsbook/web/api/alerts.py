"""/api/v1/alerts and /api/v1/silences: open alerts, acknowledging them, and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query
from pydantic import BaseModel, Field

from opsbook.accounts.model import Role
from opsbook.alerts import queries, silences
from opsbook.alerts.schema import alert_json, silence_json
from opsbook.config.types import Duration
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["alerts"])


class Ack(BaseModel):
    comment: str = ""


class NewSilence(BaseModel):
    matchers: list[str] = Field(
        min_length=1, description='Label matchers, all must match: alertname=X, check=~"api|web".'
    )
    duration: Duration | None = Field(default=None, description="How long, e.g. 2h.")
    ends_at: datetime | None = Field(default=None, description="Or until when (ISO 8601).")
    comment: str = Field(min_length=1, description="Why (shown on the alerts it holds back).")


@router.get("/alerts", openapi_extra=needs(Role.VIEWER))
def list_alerts(
    runtime: RuntimeDep,
    state: str = Query(default="open", pattern="^(open|pending|firing|resolved)$"),
) -> list[dict[str, Any]]:
    """Alerts from opsbook's own rules: open ones (pending and firing) by default."""
    states = ("pending", "firing") if state == "open" else (state,)
    with runtime.db.read() as session:
        return [alert_json(row, None) for row in queries.current(session, states=states)]


@router.post("/alerts/{ref}/ack", openapi_extra=needs(Role.RESPONDER))
def acknowledge(
    runtime: RuntimeDep, principal: PrincipalDep, ref: str, body: Ack
) -> dict[str, Any]:
    """Acknowledge an open alert (by id, or a rule's name): no more reminders until it resolves."""
    with runtime.db.write() as session:
        row = queries.acknowledge(
            session, runtime.clock, ref, actor=principal.actor, comment=body.comment
        )
        return alert_json(row, None)


@router.get("/silences", openapi_extra=needs(Role.VIEWER))
def list_silences(runtime: RuntimeDep, all: bool = False) -> list[dict[str, Any]]:
    """Silences in force (or every one with `all=true`)."""
    now = runtime.clock.now()
    with runtime.db.read() as session:
        return [silence_json(s, now) for s in silences.listed(session, now, include_ended=all)]


@router.post("/silences", status_code=201, openapi_extra=needs(Role.RESPONDER))
def create_silence(
    runtime: RuntimeDep, principal: PrincipalDep, body: NewSilence
) -> dict[str, Any]:
    """Hold back notifications of the alerts the matchers select until it expires."""
    with runtime.db.write() as session:
        row = silences.create(
            session,
            runtime.clock,
            matchers=body.matchers,
            duration=body.duration,
            ends_at=body.ends_at,
            author=principal.actor,
            comment=body.comment,
        )
        return silence_json(row, runtime.clock.now())


@router.delete("/silences/{silence_id}", openapi_extra=needs(Role.RESPONDER))
def lift_silence(runtime: RuntimeDep, principal: PrincipalDep, silence_id: int) -> dict[str, Any]:
    """End a silence now."""
    with runtime.db.write() as session:
        row = silences.lift(session, runtime.clock, silence_id, actor=principal.actor)
        return silence_json(row, runtime.clock.now())
