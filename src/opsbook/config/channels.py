"""`channels:` in opsbook.yaml: named notification channels, each a list of destination URLs.

```yaml
channels:
  slack: ["slack://T000/B000/XXXX/#ops"]          # shorthand: just the URLs
  pagerduty:
    urls: ["pagerduty://${PD_ROUTING_KEY}@${PD_API_KEY}"]
    max_attempts: 20
```

A URL is any Apprise URL, or one of opsbook's own: `pagerduty://` (Events v2, sent by opsbook
itself) and `slack+https://host/path` (a Slack-compatible incoming webhook). Other sections name
channels (an alert rule's `channels: [pagerduty, slack]`); `check_channel_references` reports
every name that `channels:` does not define, with its file and line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from opsbook.config.types import Duration
from opsbook.errors import ConfigError, SourceRef
from opsbook.units import parse_duration

if TYPE_CHECKING:
    from opsbook.config.load import Config

_CHANNEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


def _check_channel_name(name: str) -> str:
    if not _CHANNEL_NAME.match(name):
        raise ValueError(
            f"channel name {name!r} must start with a letter and use only letters, digits, _ . -"
        )
    return name


ChannelName = Annotated[str, AfterValidator(_check_channel_name)]
"""A channel's name as rules write it: `slack`, `pagerduty`, `email`, `oncall-db`."""

_RATE = re.compile(r"^\s*(?P<count>\d+)\s*/\s*(?P<per>\S+)\s*$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S")


def parse_rate(text: str) -> tuple[int, float]:
    """`30/1m` -> (30, 60.0): at most `count` messages per `per` seconds. `30/m` means `30/1m`."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"rate {text!r} is not COUNT/DURATION, e.g. 30/1m")
    count, per = int(match["count"]), match["per"]
    seconds = parse_duration(per if per[0].isdigit() else f"1{per}")
    if count < 1 or seconds <= 0:
        raise ValueError(f"rate {text!r} must allow at least 1 message in a positive duration")
    return count, seconds


def _check_rate(value: str | None) -> str | None:
    if value is not None:
        parse_rate(value)
    return value


def _check_template(value: str | None) -> str | None:
    if value is None:
        return None
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        SandboxedEnvironment().parse(value)
    except TemplateSyntaxError as exc:
        raise ValueError(f"invalid template (line {exc.lineno} of it): {exc.message}") from None
    return value


Rate = Annotated[str | None, AfterValidator(_check_rate)]
MessageTemplate = Annotated[str | None, AfterValidator(_check_template)]


class ChannelConfig(BaseModel):
    """One named channel: where its messages go and how hard opsbook tries."""

    # Same rules as config.model.StrictModel (which imports this module, hence no import).
    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[str] = Field(
        min_length=1,
        description=(
            "Destination URLs: any Apprise URL (json://, slack://, mailto://, ...), "
            "pagerduty://ROUTING_KEY or slack+https://host/path; use ${VAR} for tokens."
        ),
    )
    max_attempts: int = Field(
        default=15, ge=1, le=1000, description="Attempts per message before it is marked failed."
    )
    backoff_initial: Duration = Field(
        default=10.0, description="Wait before the first retry; it doubles with every attempt."
    )
    backoff_max: Duration = Field(
        default=600.0, description="Longest wait between two attempts (the back-off cap)."
    )
    backoff_jitter: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Random spread of each wait, as a fraction (0.2 = up to 20% either way).",
    )
    timeout: Duration = Field(
        default=10.0, description="Longest one delivery attempt may take before it counts failed."
    )
    rate: Rate = Field(
        default=None,
        description="Most messages sent per period across all nodes, e.g. 30/1m; unset = no limit.",
    )
    failing_after: int = Field(
        default=3,
        ge=1,
        description="Failed attempts in a row after which a destination counts as failing.",
    )
    title_template: MessageTemplate = Field(
        default=None,
        description="Jinja2 template of the message title; default: [FIRING:severity] title.",
    )
    body_template: MessageTemplate = Field(
        default=None,
        description="Jinja2 template of the message body; default: body, then the runbook link.",
    )
    pagerduty_url: str | None = Field(
        default=None,
        description=(
            "Events v2 endpoint for pagerduty:// URLs; default by ?region=: "
            "https://events.pagerduty.com/v2/enqueue (us) or events.eu.pagerduty.com (eu)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"urls": [value]}
        if isinstance(value, list):
            return {"urls": value}
        return value

    @field_validator("urls", mode="before")
    @classmethod
    def _one_url(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _look_like_urls(cls, urls: list[str]) -> list[str]:
        for index, url in enumerate(urls):
            if not _URL.match(url):
                shown = url.split("://", 1)[0] if "://" in url else url[:20]
                raise ValueError(f"urls[{index}] {shown!r}... is not a URL (scheme://...)")
        return urls

    @field_validator("pagerduty_url")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("pagerduty_url must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _cap_covers_initial(self) -> ChannelConfig:
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")
        return self

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """(count, seconds) from `rate`, or None when unlimited."""
        return parse_rate(self.rate) if self.rate else None


Reference = tuple[tuple[str | int, ...], str]
"""Where a channel name is used (its config path: ("alerts", 3, "channels", 1)) and the name."""


def unknown_channel_message(name: str, known: Iterable[str]) -> str:
    """`unknown channel 'slak' (did you mean 'slack'?); channels: defines email, slack`."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    defined = ", ".join(names) if names else "nothing"
    return f"unknown channel {name!r}{hint}; channels: defines {defined}"


def unknown_channels(channels: Mapping[str, ChannelConfig], names: Iterable[str]) -> list[str]:
    """The names in `names` that `channels` does not define, in order, without repeats."""
    seen: dict[str, None] = {}
    for name in names:
        if name not in channels:
            seen.setdefault(name, None)
    return list(seen)


def check_channel_references(config: Config, references: Iterable[Reference]) -> None:
    """Raise one ConfigError naming, with file:line, every reference to an undefined channel.

    Other sections call this at load time with the places they name channels, e.g.
    `[(("alerts", 0, "channels", 1), "slack")]`.
    """
    from opsbook.config.load import format_path

    channels = config.settings.channels
    problems: list[tuple[SourceRef | None, str]] = []
    for path, name in references:
        if name not in channels:
            text = f"{format_path(path)}: {unknown_channel_message(name, channels)}"
            problems.append((config.ref(*path), text))
    if problems:
        ref, text = problems[0]
        raise ConfigError(text, source=ref, problems=problems)
