"""Storing what Alertmanager sends. Functions flush; the caller's unit of work commits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.clock import Clock
from opsbook.inbox.schema import (
    AlertmanagerAlert,
    AlertmanagerPayload,
    ExternalAlertInfo,
    ReceiptInfo,
)
from opsbook.inbox.tables import ExternalAlert
from opsbook.journal.service import Subject, record

SOURCE = "alertmanager"
_NEVER = datetime(1, 1, 2, tzinfo=UTC)  # Alertmanager writes 0001-01-01 for "not ended"


def receive_alertmanager(
    session: Session,
    clock: Clock,
    payload: AlertmanagerPayload,
    *,
    actor: str,
    on_change: Callable[[ExternalAlert], object] | None = None,
) -> ReceiptInfo:
    """Record every alert of a webhook payload, one row per fingerprint, and journal it.

    `on_change` is called, in the same transaction, for each alert that is new or whose status
    changed (Alertmanager repeats a firing alert on every repeat interval; that is no change).
    """
    now = clock.now()
    firing = resolved = 0
    for alert in payload.alerts:
        row, before = _upsert(session, alert, payload, now)
        if on_change is not None and row.status != before:
            session.flush()
            on_change(row)
        if alert.status == "resolved":
            resolved += 1
        else:
            firing += 1
    summary = (
        f"{len(payload.alerts)} alerts from Alertmanager receiver {payload.receiver or '?'}: "
        f"{firing} firing, {resolved} resolved"
    )
    record(
        session,
        clock,
        actor=actor,
        action="alertmanager.receive",
        subject=Subject("alertmanager", payload.group_key[:200] or payload.receiver or "-"),
        summary=summary,
        details={"group_labels": payload.group_labels, "truncated": payload.truncated_alerts},
    )
    session.flush()
    return ReceiptInfo(received=len(payload.alerts), firing=firing, resolved=resolved)


def fingerprint(alert: AlertmanagerAlert) -> str:
    """Alertmanager's own fingerprint, or a digest of the labels when it sent none."""
    if alert.fingerprint:
        return alert.fingerprint[:100]
    text = json.dumps(alert.labels, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _upsert(
    session: Session, alert: AlertmanagerAlert, payload: AlertmanagerPayload, now: datetime
) -> tuple[ExternalAlert, str | None]:
    """The alert's row, created or updated, and its status before (None when new)."""
    key = fingerprint(alert)
    row = session.scalars(
        select(ExternalAlert).where(
            ExternalAlert.source == SOURCE, ExternalAlert.fingerprint == key
        )
    ).first()
    before = row.status if row is not None else None
    if row is None:
        row = ExternalAlert(source=SOURCE, fingerprint=key, first_received_at=now)
        session.add(row)
    labels = {**payload.common_labels, **alert.labels}
    annotations = {**payload.common_annotations, **alert.annotations}
    row.status = "resolved" if alert.status == "resolved" else "firing"
    row.name = labels.get("alertname", "(unnamed)")[:200]
    row.severity = labels.get("severity", "")[:50]
    row.summary = annotations.get("summary") or annotations.get("description", "")
    row.labels = labels
    row.annotations = annotations
    row.starts_at = alert.starts_at
    row.ends_at = alert.ends_at if alert.ends_at and alert.ends_at > _NEVER else None
    row.generator_url = alert.generator_url
    row.receiver = payload.receiver[:200]
    row.last_received_at = now
    return row, before


def alerts(
    session: Session, *, status: str | None = None, limit: int = 200
) -> Sequence[ExternalAlert]:
    query = select(ExternalAlert).order_by(ExternalAlert.last_received_at.desc()).limit(limit)
    if status:
        query = query.where(ExternalAlert.status == status)
    return session.scalars(query).all()


def info(row: ExternalAlert) -> ExternalAlertInfo:
    return ExternalAlertInfo(
        source=row.source,
        fingerprint=row.fingerprint,
        status=row.status,
        name=row.name,
        severity=row.severity,
        summary=row.summary,
        labels=row.labels,
        annotations=row.annotations,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        generator_url=row.generator_url,
        receiver=row.receiver,
        first_received_at=row.first_received_at,
        last_received_at=row.last_received_at,
    )
