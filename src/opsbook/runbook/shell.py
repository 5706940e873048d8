"""A small, forgiving lexer for the shell code in runbooks.

It is not a shell parser: it splits code into simple commands (words between `;`, `|`, `&&`,
newlines, ...) the way bash would, minding quotes, escapes, comments, `$(...)`, backticks and
here-documents, so that step analysis can tell which words are commands, which variables are
read and which are set. Unbalanced input never raises; it ends where the text ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MAX_DEPTH = 32  # deeper $( ... ) nesting is read as plain text
_OPERATOR_CHARS = ";&|()"
_DQ_SPECIAL = re.compile(r'["\\\\$`\n]')
_SPACE = re.compile(r"[ \t\r]+")
_PLAIN = re.compile(r"[^ \t\r\n'\"\\`$<>;&|()]+")


@dataclass(slots=True)
class Word:
    parts: list[tuple[str, str]] = field(default_factory=list)  # (text, "" | "'" | '"')
    done: tuple[str, bool] | None = None  # (value, quoted), kept once the word is complete

    @property
    def value(self) -> str:
        """The word as the shell would see it before expansion, quotes removed."""
        if self.done is not None:
            return self.done[0]
        return "".join(text for text, _ in self.parts)

    @property
    def quoted(self) -> bool:
        if self.done is not None:
            return self.done[1]
        return any(quote for _, quote in self.parts)

    def finish(self) -> Word:
        self.done = ("".join(text for text, _ in self.parts), any(q for _, q in self.parts))
        return self

    def expandable(self) -> str:
        """The parts the shell expands ($VAR): everything outside single quotes."""
        return "".join(text for text, quote in self.parts if quote != "'")


@dataclass(slots=True)
class Heredoc:
    delimiter: str
    expand: bool  # an unquoted delimiter: $VAR and $(...) in the body are expanded
    line: int
    body: str = ""
    strip_tabs: bool = False


@dataclass(slots=True)
class Command:
    words: list[Word]
    line: int  # 1-based line within the code
    stdin: bool = False  # reads a here-document, a here-string or a `<` redirect
    piped: bool = False  # stands right of a `|`
    nested: bool = False  # inside $(...) or backticks


@dataclass(slots=True)
class Script:
    commands: list[Command] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)


def lex(code: str) -> Script:
    """The simple commands and here-documents of `code`."""
    lexer = _Lexer(code)
    lexer.run(depth=0, terminator="")
    return lexer.script


@dataclass(slots=True)
class _Frame:
    """The command being read at one nesting depth."""

    depth: int
    line: int
    words: list[Word] = field(default_factory=list)
    word: Word | None = None
    stdin: bool = False
    piped: bool = False
    redirect: bool = False  # the next word is a redirection target, not an argument


class _Lexer:
    def __init__(self, code: str) -> None:
        self.code = code
        self.pos = 0
        self.line = 1
        self.script = Script()
        self.pending: list[Heredoc] = []

    # -- the main loop -------------------------------------------------------------------
    def run(self, depth: int, terminator: str) -> None:
        frame = _Frame(depth, self.line)
        code = self.code
        size = len(code)
        while self.pos < size:
            ch = code[self.pos]
            if terminator and ch == terminator:
                self.pos += 1
                break
            self._step(frame, ch)
        self._end_command(frame)

    def _step(self, frame: _Frame, ch: str) -> None:
        if ch == "\n":
            self._end_command(frame)
            self.pos += 1
            self.line += 1
            self._read_heredoc_bodies()
            frame.line = self.line
        elif ch in " \t\r":
            self._end_word(frame)
            match = _SPACE.match(self.code, self.pos)
            self.pos = match.end() if match else self.pos + 1
        elif ch == "#" and (frame.word is None or not frame.word.parts):
            self._skip_to_eol()
        elif ch == "\\":
            self._escape(frame)
        elif ch in "<>":
            self._redirect(frame)
        elif ch == "(" and frame.word is not None and frame.word.value.endswith("="):
            frame.word.parts.append((self._skip_balanced("(", ")"), ""))  # NAME=(array)
        elif ch in _OPERATOR_CHARS:
            op = self.code[self.pos : self.pos + 2]
            self._end_command(frame, piped_next=(ch == "|" and op != "||"))
            self.pos += 2 if op in {"&&", "||", ";;", "|&"} else 1
        else:
            frame.word = frame.word or Word()
            self._word_part(frame.word, frame.depth)

    def _escape(self, frame: _Frame) -> None:
        nxt = self.code[self.pos + 1 : self.pos + 2]
        self.pos += 2
        if nxt == "\n":
            self.line += 1
            return
        frame.word = frame.word or Word()
        frame.word.parts.append((nxt, "\\"))

    def _end_word(self, frame: _Frame) -> None:
        if frame.word is not None and frame.word.parts:
            if frame.redirect:
                frame.redirect = False
            else:
                frame.words.append(frame.word.finish())
        frame.word = None

    def _end_command(self, frame: _Frame, *, piped_next: bool = False) -> None:
        self._end_word(frame)
        if frame.words:
            self.script.commands.append(
                Command(frame.words, frame.line, frame.stdin, frame.piped, frame.depth > 0)
            )
        frame.words = []
        frame.line = self.line
        frame.stdin = False
        frame.piped = piped_next
        frame.redirect = False

    # -- pieces of words -----------------------------------------------------------------
    def _word_part(self, word: Word, depth: int) -> None:
        code = self.code
        ch = code[self.pos]
        if ch == "'":
            end = code.find("'", self.pos + 1)
            end = len(code) if end < 0 else end
            text = code[self.pos + 1 : end]
            self.line += text.count("\n")
            word.parts.append((text, "'"))
            self.pos = end + 1
        elif ch == '"':
            word.parts.append((self._double_quoted(depth), '"'))
        elif ch == "$" and code.startswith("$((", self.pos):
            word.parts.append((self._skip_balanced("$((", "))"), ""))
        elif ch == "$" and code.startswith("$(", self.pos):
            self.pos += 2
            word.parts.append(("$(…)", ""))
            self._substitution(depth, ")")
        elif ch == "$" and code.startswith("${", self.pos):
            word.parts.append((self._skip_balanced("${", "}"), ""))
        elif ch == "`":
            self.pos += 1
            word.parts.append(("`…`", ""))
            self._substitution(depth, "`")
        else:
            match = _PLAIN.match(code, self.pos)
            end = match.end() if match else self.pos + 1  # a lone "$"
            word.parts.append((code[self.pos : end], ""))
            self.pos = end

    def _double_quoted(self, depth: int) -> str:
        code = self.code
        self.pos += 1
        out: list[str] = []
        while True:
            special = _DQ_SPECIAL.search(code, self.pos)
            if special is None:
                out.append(code[self.pos :])
                self.pos = len(code)
                break
            out.append(code[self.pos : special.start()])
            self.pos = special.start()
            ch = code[self.pos]
            if ch == '"':
                self.pos += 1
                break
            self._double_quoted_special(ch, depth, out)
        return "".join(out)

    def _double_quoted_special(self, ch: str, depth: int, out: list[str]) -> None:
        code = self.code
        if ch == "\\":
            out.append(code[self.pos : self.pos + 2])
            self.line += code[self.pos : self.pos + 2].count("\n")
            self.pos += 2
        elif ch == "\n":
            self.line += 1
            out.append(ch)
            self.pos += 1
        elif code.startswith("$((", self.pos):
            out.append(self._skip_balanced("$((", "))"))
        elif code.startswith("$(", self.pos):
            self.pos += 2
            out.append("$(…)")
            self._substitution(depth, ")")
        elif ch == "`":
            self.pos += 1
            out.append("`…`")
            self._substitution(depth, "`")
        else:  # a "$" that starts no substitution
            out.append(ch)
            self.pos += 1

    def _substitution(self, depth: int, terminator: str) -> None:
        if depth >= _MAX_DEPTH:
            end = self.code.find(terminator, self.pos)
            self.pos = len(self.code) if end < 0 else end + 1
            return
        saved = self.pending
        self.pending = []
        self.run(depth + 1, terminator)
        self.pending = saved + self.pending

    def _skip_balanced(self, opener: str, closer: str) -> str:
        code = self.code
        start = self.pos
        level = 0
        while self.pos < len(code):
            if code.startswith(opener, self.pos):
                level += 1
                self.pos += len(opener)
                continue
            if code.startswith(closer, self.pos):
                level -= 1
                self.pos += len(closer)
                if level <= 0:
                    break
                continue
            if code[self.pos] == "\n":
                self.line += 1
            self.pos += 1
        return code[start : self.pos]

    def _skip_to_eol(self) -> None:
        end = self.code.find("\n", self.pos)
        self.pos = len(self.code) if end < 0 else end

    # -- redirections and here-documents -------------------------------------------------
    def _redirect(self, frame: _Frame) -> None:
        code = self.code
        word = frame.word
        if word is not None and word.value.isdigit() and not word.quoted:
            word.parts.clear()  # "2>" : the fd number is not a word
        self._end_word(frame)
        if code.startswith("<<<", self.pos):
            self.pos += 3
            frame.stdin = True
        elif code.startswith("<<", self.pos):
            strip_tabs = code.startswith("<<-", self.pos)
            self.pos += 3 if strip_tabs else 2
            self._heredoc_delimiter(strip_tabs)
            frame.stdin = True
        elif code.startswith(("<(", ">("), self.pos):
            self.pos += 2
            self._substitution(frame.depth, ")")
        else:
            frame.stdin = frame.stdin or code[self.pos] == "<"
            self.pos += 1
            while self.pos < len(code) and code[self.pos] in ">&|":
                self.pos += 1
            if code[self.pos - 1] == "&" and self.pos < len(code) and code[self.pos].isdigit():
                self.pos += 1  # >&2: no file name follows
            else:
                frame.redirect = True

    def _heredoc_delimiter(self, strip_tabs: bool) -> None:
        code = self.code
        while self.pos < len(code) and code[self.pos] in " \t":
            self.pos += 1
        word = Word()
        while self.pos < len(code) and code[self.pos] not in " \t\r\n;&|<>()":
            if code[self.pos] in "'\"":
                quote = code[self.pos]
                end = code.find(quote, self.pos + 1)
                end = len(code) if end < 0 or code.find("\n", self.pos) < end else end
                word.parts.append((code[self.pos + 1 : end], quote))
                self.pos = end + 1
            else:
                word.parts.append((code[self.pos], ""))
                self.pos += 1
        if word.value:
            self.pending.append(Heredoc(word.value, not word.quoted, self.line, "", strip_tabs))

    def _read_heredoc_bodies(self) -> None:
        code = self.code
        for heredoc in self.pending:
            body: list[str] = []
            while self.pos < len(code):
                end = code.find("\n", self.pos)
                end = len(code) if end < 0 else end
                line = code[self.pos : end]
                self.pos = min(end + 1, len(code))
                self.line += 1
                check = line.lstrip("\t") if heredoc.strip_tabs else line
                if check.rstrip("\r") == heredoc.delimiter:
                    break
                body.append(line)
            heredoc.body = "\n".join(body)
            self.script.heredocs.append(heredoc)
        self.pending = []
