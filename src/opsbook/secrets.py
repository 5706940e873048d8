"""Secret values and the redactor that keeps them out of terminals, logs and the journal.

A value is secret when its name says so (PASSWORD, SECRET, TOKEN, KEY, ...) or when config
declares it secret. Every text opsbook stores or prints about a run passes through a `Redactor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "••••••"

_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|(?:^|_)KEY(?:$|_)|APIKEY|PRIVATE|CREDENTIAL"
    r"|(?:^|_)AUTH(?:$|_)|AUTHORIZATION|DSN|COOKIE|SESSION",
    re.IGNORECASE,
)
# user:password@ inside URLs, whatever the scheme.
# The lookbehind lets a match start only where a scheme can start, which keeps long runs of
# letters linear instead of quadratic.
_URL_PASSWORD = re.compile(
    r"(?<![a-z0-9+.\-])(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)(?P<tail>@)",
    re.I,
)
# The value of a secret-named assignment in text: PGPASSWORD=..., "token": "...".
_ASSIGNMENT = re.compile(
    r"(?P<name>\b[A-Za-z_][A-Za-z0-9_]*)(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s\"',;&|]+)"
)
_MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary text


def is_secret_name(name: str) -> bool:
    """True when a variable's name marks its value as a secret."""
    return bool(_SECRET_NAME.search(name))


class Secret:
    """A value that never shows itself in `repr`, `str` or f-strings. Use `reveal()` to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Redactor:
    """Replaces known secret values, URL passwords and secret-named assignments with a mask."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*values)

    def add(self, *values: str) -> None:
        fresh = {v for v in values if v and len(v) >= _MIN_SECRET_LENGTH} - self._values
        if not fresh:
            return
        self._values |= fresh
        # Longest first so a secret that contains another is masked whole.
        ordered = sorted(self._values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def add_from_env(self, env: Mapping[str, str], declared: Iterable[str] = ()) -> None:
        """Learn the values of every secret-named or declared variable in `env`."""
        names = set(declared)
        self.add(*(v for k, v in env.items() if k in names or is_secret_name(k)))

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._values)

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], text)
        return _ASSIGNMENT.sub(_mask_assignment, text)

    def redact_data(self, data: Any) -> Any:
        """A copy of JSON-like `data` with secrets masked in strings and under secret keys."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Secret):
            return MASK
        if isinstance(data, Mapping):
            return {
                k: MASK if isinstance(k, str) and is_secret_name(k) and v else self.redact_data(v)
                for k, v in data.items()
            }
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data


def _mask_assignment(match: re.Match[str]) -> str:
    if not is_secret_name(match["name"]) or match["value"].startswith(("$", MASK)):
        return match[0]
    return match["name"] + match["sep"] + MASK
