"""A fenced block's info string: its language and its `{key=value}` attributes.

```` ```bash {name=restart timeout=60 confirm=true} ```` gives language `bash` and the attributes
`{"name": "restart", "timeout": "60", "confirm": "true"}`. Values may be quoted
(`title="Check status"`); a JSON object (`{"name": "restart"}`) is read too. Bare words in the
braces (`{confirm}`) mean `true`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_LANGUAGE_ALIASES = {
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "ksh": "bash",
    "shell-script": "bash",
    "postgresql": "sql",
    "postgres": "sql",
    "psql": "sql",
    "pgsql": "sql",
    "plpgsql": "sql",
    "yml": "yaml",
    "ts": "typescript",
    "js": "javascript",
    "py": "python",
    "crontab": "cron",
    "puml": "plantuml",
    "dotenv": "env",
    "txt": "text",
    "plaintext": "text",
    "plain": "text",
    "md": "markdown",
}
SHELL_LANGUAGES = frozenset({"bash"})
SQL_LANGUAGES = frozenset({"sql"})
OPSBOOK_LANGUAGES = frozenset({"opsbook"})
RUNNABLE_LANGUAGES = SHELL_LANGUAGES | SQL_LANGUAGES | OPSBOOK_LANGUAGES
DIAGRAM_LANGUAGES = frozenset(
    {"plantuml", "mermaid", "dot", "graphviz", "ditaa", "svgbob", "ascii", "asciiart", "diagram"}
)
CONFIG_LANGUAGES = frozenset(
    {"yaml", "json", "toml", "ini", "conf", "properties", "xml", "hcl", "terraform", "env"}
)
TEXT_LANGUAGES = frozenset({"", "text", "markdown", "console", "output", "log"})

_ATTRS = re.compile(r"\{(?P<body>.*)\}\s*$")
_PAIR = re.compile(
    r"""(?P<key>[A-Za-z_][\w.-]*)\s*(?:=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s,}]+)))?"""
)


@dataclass(frozen=True, slots=True)
class Info:
    language: str  # normalised ("bash" for sh/shell/zsh, "sql" for postgresql, ...)
    raw_language: str  # as written
    attrs: dict[str, str] = field(default_factory=dict)


def parse_info(info: str) -> Info:
    """Language and attributes of a fence's info string."""
    text = info.strip()
    attrs: dict[str, str] = {}
    match = _ATTRS.search(text)
    if match:
        attrs = _parse_attrs(match["body"])
        text = text[: match.start()].strip()
    raw = text.split()[0] if text else ""
    raw = raw.strip("{}.").lower()
    return Info(language=_LANGUAGE_ALIASES.get(raw, raw), raw_language=raw, attrs=attrs)


def _parse_attrs(body: str) -> dict[str, str]:
    stripped = body.strip()
    if stripped.startswith('"'):
        try:
            loaded = json.loads("{" + stripped + "}")
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return {str(k): _text(v) for k, v in loaded.items()}
    attrs: dict[str, str] = {}
    for pair in _PAIR.finditer(stripped):
        value = pair["dq"] if pair["dq"] is not None else pair["sq"]
        if value is None:
            value = pair["bare"] if pair["bare"] is not None else "true"
        attrs[pair["key"]] = value
    return attrs


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "yes", "1", "on"}


def is_false(value: str | None) -> bool:
    return (value or "").strip().lower() in {"false", "no", "0", "off"}
