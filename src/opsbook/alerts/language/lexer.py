"""Tokens of the condition language, each with its offset in the text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from opsbook.alerts.language.errors import ConditionError


class Kind(StrEnum):
    NUMBER = "number"  # 0.05, 5%, 1000ms, 5m, 1h30m, 2GB
    IDENT = "identifier"
    STRING = "string"
    OP = "operator"
    PUNCT = "punctuation"
    END = "end of text"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    position: int

    def is_op(self, *texts: str) -> bool:
        return self.kind is Kind.OP and self.text in texts

    def is_punct(self, text: str) -> bool:
        return self.kind is Kind.PUNCT and self.text == text

    def is_word(self, *words: str) -> bool:
        return self.kind is Kind.IDENT and self.text.lower() in words


_NUMBER = re.compile(
    r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"  # the number
    r"(?:[kKmMgGtTpP]i?[bB](?![a-zA-Z_])|[bB](?![a-zA-Z_])|%"  # a size or a percentage
    r"|(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?"  # or a duration: 5m, 1h30m, 500ms
)
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_OPERATORS = ("==", "!=", "<=", ">=", "=~", "!~", "<", ">", "=", "+", "-", "*", "/", "%", "^")
_PUNCT = "(){}[],"


def tokenize(text: str) -> list[Token]:
    """Every token of `text`, ending with an END token. Raises ConditionError on stray input."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char == "#":  # a comment runs to the end of the line
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        token = _next_token(text, pos)
        tokens.append(token)
        pos = token.position + len(token.text)
    tokens.append(Token(Kind.END, "", len(text)))
    return tokens


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    if char.isdigit() or (char == "." and pos + 1 < len(text) and text[pos + 1].isdigit()):
        match = _NUMBER.match(text, pos)
        assert match is not None
        return Token(Kind.NUMBER, match[0], pos)
    if char in "\"'`":
        return Token(Kind.STRING, _string_end(text, pos), pos)
    match = _IDENT.match(text, pos)
    if match:
        return Token(Kind.IDENT, match[0], pos)
    for op in _OPERATORS:
        if text.startswith(op, pos):
            return Token(Kind.OP, op, pos)
    if char in _PUNCT:
        return Token(Kind.PUNCT, char, pos)
    raise ConditionError(f"unexpected character {char!r}", text, pos)


def _string_end(text: str, start: int) -> str:
    """The whole quoted string starting at `start`, quotes included."""
    quote = text[start]
    pos = start + 1
    while pos < len(text):
        if text[pos] == "\\" and quote != "`":
            pos += 2
            continue
        if text[pos] == quote:
            return text[start : pos + 1]
        if text[pos] == "\n":
            break
        pos += 1
    raise ConditionError("this string has no closing quote", text, start)


def unquote(token: Token) -> str:
    """The value of a STRING token, with backslash escapes resolved (not in `raw` strings)."""
    body = token.text[1:-1]
    if token.text[0] == "`":
        return body
    out: list[str] = []
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            out.append(escapes.get(nxt, "\\" + nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)
