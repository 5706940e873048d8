"""Samples, label sets and label matchers: the store's vocabulary, with no I/O.

Names and labels follow Prometheus: a metric name matches `[a-zA-Z_:][a-zA-Z0-9_:]*`, a label
name `[a-zA-Z_][a-zA-Z0-9_]*`, and values are base units (seconds, bytes, ratios 0..1).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation: `value` of series `name{labels}` at time `at` (aware UTC)."""

    name: str
    labels: Labels
    value: float
    at: datetime

    def __post_init__(self) -> None:
        check_name(self.name)
        for key in self.labels:
            if not LABEL_NAME.fullmatch(key):
                raise ValueError(f"invalid label name {key!r} on metric {self.name}")
        if self.at.tzinfo is None:
            raise ValueError(f"sample {self.name} has a naive time; use aware UTC times")

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


def check_name(name: str) -> str:
    if not METRIC_NAME.fullmatch(name):
        raise ValueError(f"invalid metric name {name!r} (use letters, digits, _ and :)")
    return name


def labels_key(labels: Labels) -> str:
    """The canonical text of a label set: sorted JSON, values as strings."""
    return json.dumps({k: str(labels[k]) for k in sorted(labels)}, separators=(",", ":"))


def labels_hash(labels: Labels) -> str:
    """A short stable digest of a label set; (name, hash) identifies a series."""
    return _hash_of(tuple(sorted((k, str(v)) for k, v in labels.items())))


@functools.lru_cache(maxsize=65_536)
def _hash_of(items: tuple[tuple[str, str], ...]) -> str:
    # The same few label sets come back with every sample: digest each once.
    return hashlib.blake2b(labels_key(dict(items)).encode(), digest_size=16).hexdigest()


def to_ms(when: datetime) -> int:
    """Milliseconds since the Unix epoch, the store's time column."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}; use aware UTC times")
    return round(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class MatchOp(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label condition as in PromQL: `check="api"`, `code=~"5.."`. A missing label is ""."""

    label: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, label: str, op: str | MatchOp, value: str) -> Matcher:
        kind = MatchOp(op)
        regex = None
        if kind in (MatchOp.RE, MatchOp.NRE):
            try:
                regex = re.compile(value)
            except re.error as exc:
                message = f"invalid regular expression {value!r} for {label}: {exc}"
                raise ValueError(message) from None
        return cls(label, kind, value, regex)

    def matches(self, labels: Labels) -> bool:
        actual = labels.get(self.label, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        assert self._regex is not None
        anchored = self._regex.fullmatch(actual) is not None
        return anchored if self.op is MatchOp.RE else not anchored

    def __str__(self) -> str:
        return f"{self.label}{self.op.value}{json.dumps(self.value)}"


Matchers = Mapping[str, str] | Iterable[Matcher] | str | None
"""Label conditions: a dict of equalities, Matcher objects, or PromQL text `a="x",b=~"y.*"`."""

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_matchers(text: str) -> list[Matcher]:
    """Matchers from PromQL text, with or without braces: `{check="api", code=~"5.."}`."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    result: list[Matcher] = []
    pos = 0
    while pos < len(body.rstrip()):
        match = _MATCHER.match(body, pos)
        if match is None:
            raise ValueError(f"invalid label matchers {text!r} near {body[pos:]!r}")
        value = json.loads(f'"{match[3]}"')
        result.append(Matcher.of(match[1], match[2], value))
        pos = match.end()
    return result


def as_matchers(matchers: Matchers) -> list[Matcher]:
    if matchers is None:
        return []
    if isinstance(matchers, str):
        return parse_matchers(matchers)
    if isinstance(matchers, Mapping):
        return [Matcher.of(k, MatchOp.EQ, str(v)) for k, v in matchers.items()]
    return list(matchers)


def matches_all(matchers: Iterable[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)
