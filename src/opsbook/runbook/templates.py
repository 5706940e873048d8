"""Communication templates: text blocks with `[Placeholder]` fields.

A template is named from its label or heading ("Initial Response" -> `initial`, "Update" ->
`update`, "Resolution" -> `resolution`). Its fields are the placeholders in order: a placeholder
that is a short name is the field (`[Title]` -> Title); one that is not (`P[1-4]`,
`[Investigating/Mitigating/Monitoring]`, `[What's been done]`) takes the name of the line's
label (Severity, Status, Progress). `to_jinja` writes the body as a Jinja2 template.
"""

from __future__ import annotations

import re

from opsbook.runbook.model import Template

_PLACEHOLDER = re.compile(r"(?P<prefix>\b[A-Za-z]{1,3})?\[(?P<inner>[^\[\]\n]{1,80})\]")
_NAME = re.compile(r"^[A-Za-z][A-Za-z -]{0,40}$")
_LABEL = re.compile(r"^\s*(?P<label>[A-Za-z][\w /-]{0,40}?)\s*:")
_KNOWN_NAMES = {
    "initial": ("initial", "first", "opening", "declared", "declaration", "start", "announce"),
    "update": ("update", "progress", "status"),
    "resolution": ("resolution", "resolved", "all clear", "closing", "closed", "close"),
}


def template_name(title: str) -> str:
    """`initial`, `update`, `resolution`, or the title in snake case."""
    lowered = title.lower()
    for name, words in _KNOWN_NAMES.items():
        if any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in words):
            return name
    return snake(title) or "template"


def snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def template_from_text(title: str, body: str, line: int) -> Template:
    fields: dict[str, None] = {}
    for _, field in _placeholders(body):
        fields.setdefault(field, None)
    return Template(template_name(title), title, body, tuple(fields), line)


def _placeholders(body: str) -> list[tuple[re.Match[str], str]]:
    """Each placeholder with the field it stands for."""
    found: list[tuple[re.Match[str], str]] = []
    for text_line in body.split("\n"):
        label = _LABEL.match(text_line)
        matches = list(_PLACEHOLDER.finditer(text_line))
        found.extend((match, _field(match, label, len(matches))) for match in matches)
    return found


def _field(match: re.Match[str], label: re.Match[str] | None, count: int) -> str:
    inner = match["inner"].strip()
    if _NAME.match(inner) and not match["prefix"]:
        return inner
    if label is not None and count == 1:
        words = label["label"].split()
        return " ".join(words[:1] + [w.lower() for w in words[1:]]).capitalize()
    return inner


def to_jinja(template: Template) -> str:
    """The body as Jinja2: `[Title]` -> `{{ title }}`; literal braces kept as text."""
    out: list[str] = []
    for text_line in template.body.split("\n"):
        label = _LABEL.match(text_line)
        matches = list(_PLACEHOLDER.finditer(text_line))
        pieces: list[str] = []
        pos = 0
        for match in matches:
            field = _field(match, label, len(matches))
            pieces.append(_escape(text_line[pos : match.start()]))
            pieces.append("{{ " + (snake(field) or "value") + " }}")
            pos = match.end()
        pieces.append(_escape(text_line[pos:]))
        out.append("".join(pieces))
    return "\n".join(out)


def _escape(text: str) -> str:
    """Text with Jinja2 delimiters made literal."""
    if not any(d in text for d in ("{{", "{%", "{#")):
        return text
    return re.sub(r"\{[{%#]", lambda m: "{{ '" + m[0] + "' }}", text)
