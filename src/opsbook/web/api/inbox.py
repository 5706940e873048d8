"""POST /api/v1/alerts/alertmanager: an existing Prometheus feeds opsbook through Alertmanager.

Point an Alertmanager receiver at it with a responder token:

    receivers:
      - name: opsbook
        webhook_configs:
          - url: https://ops.example.com/api/v1/alerts/alertmanager
            http_config: {authorization: {credentials_file: /etc/alertmanager/opsbook-token}}
"""

from __future__ import annotations

from fastapi import Query, Request

from opsbook.accounts.model import Role
from opsbook.inbox import service as inbox
from opsbook.inbox.schema import AlertmanagerPayload, ExternalAlertInfo, ReceiptInfo
from opsbook.incidents.from_alerts import follow_external
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.api.incidents import context as incident_context
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["alerts"])


@router.post("/alerts/alertmanager", openapi_extra=needs(Role.RESPONDER))
def receive(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, payload: AlertmanagerPayload
) -> ReceiptInfo:
    """Accept an Alertmanager webhook payload (version 4); every alert is stored by fingerprint.

    An alert that starts firing opens or joins an incident when its `severity` label maps to a
    level the incident policy opens from alerts; when it resolves, the incident calms as it does
    for opsbook's own alerts."""
    ctx = incident_context(request, runtime)
    with runtime.db.write() as session:
        return inbox.receive_alertmanager(
            session,
            runtime.clock,
            payload,
            actor=principal.actor,
            on_change=lambda alert: follow_external(session, ctx, alert),
        )


@router.get("/alerts/external", openapi_extra=needs(Role.VIEWER))
def external(
    runtime: RuntimeDep,
    status: str | None = Query(default=None, pattern="^(firing|resolved)$"),
) -> list[ExternalAlertInfo]:
    """Alerts received from Alertmanager, most recently updated first."""
    with runtime.db.read() as session:
        return [inbox.info(row) for row in inbox.alerts(session, status=status)]
