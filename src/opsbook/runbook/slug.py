"""GitHub-style heading anchors and the loose keys used to match names typed by people."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NUMBERING = re.compile(r"^\s*(?:(?:\d+[.)]|[IVX]+\.|[A-Z][.)])\s+|\d+(?:\.\d+)+\s+)")
_PUNCT = re.compile(r"[^\w\- ]", re.UNICODE)


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = title.strip().lower()
    text = _PUNCT.sub("", text)
    return text.replace(" ", "-")


def unique_slug(title: str, seen: dict[str, int]) -> str:
    """`github_slug`, with -1, -2, ... for repeats, as GitHub does within one document."""
    base = github_slug(title)
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


@lru_cache(maxsize=4096)
def clean_title(title: str) -> str:
    """A heading's title without leading numbering ("1.", "2)") or emoji and symbols."""
    if title.isascii():
        text = title.replace("^", "").replace("`", "")  # the only ASCII symbols (Sk)
    else:
        text = "".join(ch for ch in title if not _is_symbol(ch))
    text = _NUMBERING.sub("", text.strip())
    return re.sub(r"\s+", " ", text).strip(" :-")


@lru_cache(maxsize=4096)
def loose_key(text: str) -> str:
    """A key for matching names people type: case, numbering, emoji and punctuation ignored."""
    return github_slug(clean_title(text)).strip("-")


def _is_symbol(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in {"So", "Sk", "Cs", "Co", "Cn"} or ch in "\ufe0f\u200d\u20e3"
