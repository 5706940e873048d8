"""Any Apprise URL, sent once per destination with Apprise's own retries off.

The outbox owns retries and keeps one receipt per destination, so each call to Apprise holds
exactly one service with `retry = 0`, and its per-service result (with the log lines Apprise
captured for it) becomes the receipt.
"""

from __future__ import annotations

import logging
import warnings

import apprise

from opsbook.notify.model import Destination, Event, Message, Outcome

with warnings.catch_warnings():
    # Apprise's e-mail plugin imports the standard library's deprecated imghdr on Python < 3.13;
    # load every plugin once, here, so that warning never reaches a caller.
    warnings.filterwarnings("ignore", message=".*imghdr", category=DeprecationWarning)
    apprise.Apprise.instantiate("json://localhost")

_CRITICAL = {"critical", "error", "p1", "p2", "high", "page"}


def _asset() -> apprise.AppriseAsset:
    return apprise.AppriseAsset(app_id="opsbook", app_desc="opsbook notifications")


def privacy_url(url: str) -> str | None:
    """Apprise's rendering of `url` with its secrets masked; None when Apprise cannot load it."""
    plugin = apprise.Apprise.instantiate(url, asset=_asset())
    return None if plugin is None else str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]


def notify_type(message: Message) -> apprise.NotifyType:
    """Apprise's type (it picks colours and icons from it) for a message's event and severity."""
    if message.event is Event.RESOLVE:
        return apprise.NotifyType.SUCCESS
    if message.event in {Event.TRIGGER, Event.REMINDER}:
        severe = message.severity.strip().lower() in _CRITICAL
        return apprise.NotifyType.FAILURE if severe else apprise.NotifyType.WARNING
    return apprise.NotifyType.INFO


def send(destination: Destination, message: Message, timeout: float) -> Outcome:
    """Deliver `message` to one Apprise URL, once, blocking for at most about `timeout` seconds."""
    plugin = apprise.Apprise.instantiate(destination.url.reveal(), asset=_asset())
    if plugin is None:
        return Outcome(False, "Apprise could not load this URL", retryable=False)
    plugin.retry = 0  # the outbox retries, with back-off, and keeps the receipt
    plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, timeout)
    plugin.socket_read_timeout = timeout
    sender = apprise.Apprise(asset=_asset())
    sender.add(plugin)
    result = sender.notify(
        body=message.body or message.title,
        title=message.title,
        notify_type=notify_type(message),
        body_format=apprise.NotifyFormat.TEXT,
        timeout=timeout + 1.0,
        log_level=logging.INFO,
    )
    service = result.results[0] if result.results else None
    ok = service is not None and bool(service)
    lines = [entry.message for entry in service.logs()] if service is not None else []
    if not lines and not ok:  # why the call itself failed (no service could be prepared, ...)
        lines = [entry.message for entry in result.call_logs()]
    status = service.status.name.lower() if service is not None else result.status.name.lower()
    answer = " ".join(dict.fromkeys(lines)) or ("accepted" if ok else status)
    return Outcome(ok, answer, details={"apprise_status": status})
