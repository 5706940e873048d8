"""Label matchers written on their own, for silences and maintenance windows.

`alertname="HighErrorRate"`, `severity!=info`, `check=~"api|web"`: the same matchers as inside a
condition's braces (values may be left unquoted). Several strings, or one string with commas,
all have to match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from opsbook.alerts.language.ast import Matcher
from opsbook.alerts.language.errors import ConditionError
from opsbook.alerts.language.parser import parse_matcher_list


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """Matchers from strings; raises ValueError naming the bad one."""
    found: list[Matcher] = []
    for text in texts:
        try:
            found.extend(parse_matcher_list(text.strip().strip("{}")))
        except ConditionError as exc:
            raise ValueError(f"bad matcher {text!r}: {exc.message}") from None
    return tuple(found)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    as_dict = dict(labels)
    return all(m.matches(as_dict) for m in matchers)


def format_matchers(matchers: Iterable[Matcher]) -> list[str]:
    return [str(m) for m in matchers]
