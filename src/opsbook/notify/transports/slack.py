"""Slack-compatible incoming webhooks: `slack+https://host/path` (or `slack+http://`).

The payload is Slack's `text` plus one legacy attachment (colour by event and severity, the
title linked to the runbook, severity and labels as fields). Slack, Mattermost, Rocket.Chat and
Discord's `/slack` endpoints all render it.
"""

from __future__ import annotations

from typing import Any

import httpx

from opsbook.notify.model import Event, Message, Outcome
from opsbook.notify.transports.http import post_json

COLORS = {"critical": "#d00000", "warning": "#f2c744", "resolved": "#2eb886", "info": "#439fe0"}
MAX_LABEL_FIELDS = 10
_CRITICAL = {"critical", "crit", "error", "p1", "p2", "high", "major", "page", "sev1", "sev2"}


def http_url(url: str) -> str:
    """`slack+https://host/path` -> `https://host/path`."""
    return url.split("+", 1)[1]


def color(message: Message) -> str:
    if message.event is Event.RESOLVE:
        return COLORS["resolved"]
    if message.event in {Event.TRIGGER, Event.REMINDER}:
        severe = message.severity.strip().lower() in _CRITICAL
        return COLORS["critical"] if severe else COLORS["warning"]
    return COLORS["info"]


def payload(message: Message) -> dict[str, Any]:
    """The Slack message for `message`."""
    fields: list[dict[str, Any]] = [
        {"title": "Event", "value": message.event.value, "short": True},
    ]
    if message.severity:
        fields.append({"title": "Severity", "value": message.severity, "short": True})
    labels = message.data.get("labels") or {}
    for name, value in list(labels.items())[:MAX_LABEL_FIELDS]:
        fields.append({"title": str(name), "value": str(value), "short": True})
    attachment: dict[str, Any] = {
        "fallback": message.title,
        "color": color(message),
        "title": message.title,
        "text": message.body,
        "fields": fields,
        "footer": "opsbook",
        "mrkdwn_in": ["text"],
    }
    if message.url:
        attachment["title_link"] = message.url
    return {"text": message.title, "attachments": [attachment]}


async def send(client: httpx.AsyncClient, url: str, message: Message, timeout: float) -> Outcome:
    return await post_json(client, http_url(url), payload(message), timeout)
