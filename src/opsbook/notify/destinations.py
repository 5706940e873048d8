"""Channels and their destinations, built from `channels:` in the config.

Every destination URL is checked when a process that delivers starts (an unknown Apprise scheme
or a malformed pagerduty:// URL is a config error with file and line), and every secret in it
(passwords, tokens, routing keys) is taught to the config's redactor so it is masked in logs,
errors and output. Outbox rows store only a destination's fingerprint and masked `display`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from opsbook.config import Config
from opsbook.config.channels import ChannelConfig, unknown_channel_message
from opsbook.errors import ConfigError, SourceRef
from opsbook.notify.model import Destination, TransportKind
from opsbook.secrets import MASK, Secret, is_secret_name

SLACK_SCHEMES = ("slack+http", "slack+https")
_SPLIT = re.compile(r"[/:@?&=#,]")
_SECRET_QUERY_KEYS = {"pass", "pw", "apikey", "key", "token", "secret", "integrationkey", "webhook"}
_MIN_TOKEN = 4


def fingerprint(url: str) -> str:
    """A stable 16-hex-digit name for a destination URL; outbox rows store this, not the URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


def mask_token(token: str) -> str:
    """`abcdefgh` -> `a...h`, as Apprise prints secrets; short ones are masked whole."""
    return f"{token[0]}...{token[-1]}" if len(token) >= 8 else MASK


def parse_destination(channel: str, index: int, url: str) -> Destination:
    """The destination for `url`; ValueError (with no secret in it) when it cannot be used."""
    scheme = scheme_of(url)
    if scheme == "pagerduty":
        from opsbook.notify.transports.pagerduty import parse_target

        target = parse_target(url)
        secrets = {target.routing_key, *target.other_secrets}
        return _destination(
            channel, index, url, kind=TransportKind.PAGERDUTY, tokens=secrets, passwords=set()
        )
    if scheme in SLACK_SCHEMES:
        _check_http_url(url.split("+", 1)[1], scheme)
        passwords, tokens = _generic_secrets(url)
        return _destination(
            channel, index, url, kind=TransportKind.SLACK, tokens=tokens, passwords=passwords
        )
    from opsbook.notify.transports.apprise_url import privacy_url

    masked = privacy_url(url)
    if masked is None:
        raise ValueError(
            f"{scheme}:// is not a URL scheme Apprise or opsbook knows, "
            "or the URL is missing a required part (see docs/notifications.md)"
        )
    passwords, tokens = _apprise_secrets(url, masked)
    return _destination(
        channel, index, url, kind=TransportKind.APPRISE, tokens=tokens, passwords=passwords
    )


def _check_http_url(url: str, scheme: str) -> None:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"{scheme}:// needs a host: {scheme}://host/path")
    try:
        parts.port  # noqa: B018 - reading it checks the range
    except ValueError:
        raise ValueError(f"{scheme}:// has a port outside 1-65535") from None


def _destination(
    channel: str,
    index: int,
    url: str,
    *,
    kind: TransportKind,
    tokens: set[str],
    passwords: set[str],
) -> Destination:
    display = url
    for secret in sorted(passwords | tokens, key=len, reverse=True):
        shown = MASK if secret in passwords else mask_token(secret)
        display = display.replace(secret, shown)
    secrets = {s for s in passwords | tokens if s}
    secrets |= {unquote(s) for s in secrets}
    return Destination(
        channel=channel,
        index=index,
        url=Secret(url),
        kind=kind,
        key=fingerprint(url),
        display=display,
        secrets=frozenset(secrets),
    )


def _split_url(url: str) -> tuple[str, str, str, str]:
    """(userinfo, host, path, query) of `scheme://userinfo@host/path?query#fragment`."""
    rest = url.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    return (userinfo if at else ""), host, slash + path, query


def _password(userinfo: str) -> set[str]:
    _, colon, password = userinfo.partition(":")
    return {password} if colon and password else set()


def _query_secrets(query: str) -> set[str]:
    return {
        value
        for name, value in parse_qsl(query, keep_blank_values=False)
        if len(value) >= _MIN_TOKEN and (name.lower() in _SECRET_QUERY_KEYS or is_secret_name(name))
    }


def _generic_secrets(url: str) -> tuple[set[str], set[str]]:
    """Passwords, plus path parts that look like credentials (long, or mixed letters/digits)."""
    userinfo, _host, path, query = _split_url(url)
    tokens = {t for t in _SPLIT.split(path) if _looks_random(t)} | _query_secrets(query)
    return _password(userinfo), tokens


def _looks_random(token: str) -> bool:
    if len(token) >= 16:
        return True
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    return len(token) >= 8 and has_digit and has_alpha


def _apprise_secrets(url: str, masked: str) -> tuple[set[str], set[str]]:
    """What Apprise's own privacy rendering hides: every part of the URL it does not show."""
    userinfo, host, path, query = _split_url(url)
    shown = {unquote(t) for t in _SPLIT.split(masked.split("://", 1)[-1])}
    candidates = [*_SPLIT.split(userinfo), *_SPLIT.split(path)]
    if "." not in host:  # a host that is no host name is a token (slack://T/B/C, tgram://...)
        candidates += _SPLIT.split(host)
    tokens = {t for t in candidates if len(t) >= _MIN_TOKEN and unquote(t) not in shown}
    return _password(userinfo), tokens | _query_secrets(query)


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    settings: ChannelConfig
    destinations: tuple[Destination, ...]


class ChannelSet:
    """Every configured channel with its parsed destinations."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels = {c.name: c for c in channels}

    @classmethod
    def from_config(cls, config: Config) -> ChannelSet:
        """Parse and check every destination URL; teach their secrets to `config.redactor`.

        Raises one ConfigError listing every bad URL with its file and line.
        """
        channels: list[Channel] = []
        problems: list[tuple[SourceRef | None, str]] = []
        for name, settings in config.settings.channels.items():
            destinations = []
            for index, url in enumerate(settings.urls):
                try:
                    destinations.append(parse_destination(name, index, url))
                except ValueError as exc:
                    text = f"channels.{name}.urls[{index}]: {exc}"
                    problems.append((_url_ref(config, name, index), text))
            channels.append(Channel(name, settings, tuple(destinations)))
        if problems:
            ref, text = problems[0]
            raise ConfigError(text, source=ref, problems=problems)
        found = cls(channels)
        config.redactor.add(*found.secrets())
        return found

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def __contains__(self, name: object) -> bool:
        return name in self._channels

    def __bool__(self) -> bool:
        return bool(self._channels)

    @property
    def names(self) -> list[str]:
        return sorted(self._channels)

    def get(self, name: str) -> Channel:
        """The channel `name`; ConfigError when `channels:` does not define it."""
        try:
            return self._channels[name]
        except KeyError:
            raise ConfigError(unknown_channel_message(name, self._channels)) from None

    def destination(self, channel: str, key: str, display: str = "") -> Destination | None:
        """The destination an outbox row names: by fingerprint, else (rotated secret) by display."""
        found = self._channels.get(channel)
        if found is None:
            return None
        for dest in found.destinations:
            if dest.key == key:
                return dest
        same_display = [d for d in found.destinations if display and d.display == display]
        return same_display[0] if len(same_display) == 1 else None

    def secrets(self) -> set[str]:
        return {s for c in self for d in c.destinations for s in d.secrets}


def _url_ref(config: Config, channel: str, index: int) -> SourceRef:
    """Where URL `index` of `channel` was written, in the long form or the list shorthand."""
    for path in (("channels", channel, "urls", index), ("channels", channel, index)):
        if path in config.locations.places:
            return config.ref(*path)
    return config.ref("channels", channel)


_active: ChannelSet | None = None


def use_channels(channels: ChannelSet | None) -> ChannelSet | None:
    """Make `channels` the process's default for `service.enqueue`; returns the previous one.

    The runtime does this when it starts the notify worker; tests and tools that build their own
    ChannelSet pass it to `enqueue(channels=...)` instead.
    """
    global _active  # one process-wide default, set once at start-up
    previous, _active = _active, channels
    return previous


def active_channels() -> ChannelSet:
    if _active is None:
        raise ConfigError(
            "no notification channels are loaded in this process; "
            "pass channels= to enqueue or start the runtime with a config"
        )
    return _active
