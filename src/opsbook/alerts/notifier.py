"""The one place alerts hand messages to the notification outbox.

`Enqueue` is the outbox's `notify.service.enqueue` (docs/notifications.md): one row per
destination of the channel, in the caller's transaction, de-duplicated by key and event.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from opsbook.clock import Clock


class Enqueue(Protocol):
    def __call__(
        self,
        session: Session,
        clock: Clock,
        *,
        channel: str,
        key: str,
        event: str,
        title: str,
        body: str,
        severity: str = "",
        url: str = "",
        data: dict[str, Any] | None = None,
        occurrence: str = "",
    ) -> object: ...


def outbox_enqueue() -> Enqueue:
    """The outbox's enqueue, with the process's channels (set when the notify worker starts)."""
    from opsbook.notify import service

    return service.enqueue
