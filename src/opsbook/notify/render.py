"""Message titles and bodies from per-channel Jinja2 templates, in a sandbox.

Templates see `title`, `body`, `event`, `severity`, `key`, `url` (the runbook link, also as
`runbook`), `channel`, `data` and, from `data`, `labels` and `annotations`. A missing field
renders empty. A template that fails at render time never loses the message: the default
template is used instead and the failure is logged.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from opsbook.config.channels import ChannelConfig

log = logging.getLogger(__name__)

DEFAULT_TITLE = (
    "{% if event == 'trigger' %}[FIRING{% if severity %}:{{ severity | upper }}{% endif %}] "
    "{% elif event == 'resolve' %}[RESOLVED] "
    "{% elif event == 'reminder' %}[STILL FIRING] "
    "{% elif event == 'test' %}[TEST] {% endif %}{{ title }}"
)
DEFAULT_BODY = r'{{ body }}{% if url %}{{ "\n\n" }}Runbook: {{ url }}{% endif %}'
TITLE_LIMIT = 250


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=False,
        undefined=ChainableUndefined,
        trim_blocks=True,
        keep_trailing_newline=False,
    )


@lru_cache(maxsize=256)
def _compile(source: str) -> Template:
    return _environment().from_string(source)


def template_fields(
    *,
    channel: str,
    key: str,
    event: str,
    title: str,
    body: str,
    severity: str,
    url: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "channel": channel,
        "key": key,
        "event": event,
        "title": title,
        "body": body,
        "severity": severity,
        "url": url,
        "runbook": url,
        "data": data,
        "labels": data.get("labels") or {},
        "annotations": data.get("annotations") or {},
    }


def render_text(source: str | None, default: str, fields: dict[str, Any]) -> str:
    """`source` rendered with `fields`; the default template when `source` is unset or fails."""
    if source is not None:
        try:
            return _compile(source).render(fields).strip()
        except TemplateError as exc:
            log.warning(
                "message template of channel %s failed (%s); using the default",
                fields.get("channel"),
                exc,
            )
        except Exception:
            log.exception(
                "message template of channel %s failed; using the default", fields.get("channel")
            )
    return _compile(default).render(fields).strip()


def render_message(settings: ChannelConfig, fields: dict[str, Any]) -> tuple[str, str]:
    """(title, body) for one channel; the title is one line of at most 250 characters."""
    title = " ".join(render_text(settings.title_template, DEFAULT_TITLE, fields).split())
    if not title:  # a title the template left blank (the sandbox blanks unsafe attributes)
        title = " ".join(render_text(None, DEFAULT_TITLE, fields).split())
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - 1] + "…"
    body = render_text(settings.body_template, DEFAULT_BODY, fields)
    return title, body
