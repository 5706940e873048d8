"""What a step's code does: variables it reads and sets, tools, danger, waits and parameters.

Shell code goes through `shell.lex`, which knows commands from quoted text, here-documents and
comments; the danger reasons come from `danger.find_danger`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from opsbook.runbook.danger import find_danger
from opsbook.runbook.model import Parameter
from opsbook.runbook.shell import Command, Script, Word, lex


@dataclass(frozen=True, slots=True)
class Analysis:
    variables: tuple[str, ...] = ()
    assigns: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    danger: tuple[str, ...] = ()
    interactive: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()


_KEYWORDS = frozenset(
    {"if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done", "case", "esac"}
    | {"function", "select", "in", "time", "!", "[[", "]]", "{", "}", "coproc"}
)
_BUILTINS = frozenset(
    {"echo", "printf", "cd", "read", "export", "set", "unset", "local", "declare", "typeset"}
    | {"readonly", "source", ".", "exit", "return", "true", "false", "test", "[", "eval"}
    | {"shift", "alias", "unalias", "break", "continue", "wait", "trap", "let", ":", "pushd"}
    | {"popd", "dirs", "getopts", "mapfile", "readarray", "type", "hash", "command", "builtin"}
    | {"enable", "ulimit", "umask", "history", "jobs", "fg", "bg", "disown", "logout", "shopt"}
    | {"exec"}
)
_WRAPPERS = frozenset({"sudo", "env", "nohup", "nice", "ionice", "timeout", "xargs", "stdbuf"})
_WRAPPER_OPTS_WITH_VALUE = {
    "sudo": {"-u", "-g", "-C", "-h", "-p", "-U"},
    "nice": {"-n"},
    "ionice": {"-c", "-n"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "xargs": {"-I", "-n", "-P", "-L", "-d", "-s", "-E"},
    "env": {"-u", "-C", "-S"},
}
_SHELL_PROVIDED = frozenset(
    {"HOME", "PATH", "PWD", "OLDPWD", "USER", "LOGNAME", "SHELL", "HOSTNAME", "RANDOM"}
    | {"LINENO", "SECONDS", "IFS", "UID", "EUID", "PPID", "TERM", "LANG", "TMPDIR", "BASHPID"}
    | {"BASH_SOURCE", "BASH_VERSION", "FUNCNAME", "OPTARG", "OPTIND", "REPLY", "PIPESTATUS"}
    | {"EPOCHSECONDS", "EPOCHREALTIME", "COLUMNS", "LINES"}
)
_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?P<op>:?[-=?+]|[^}]*)?\}|(?P<plain>[A-Za-z_]\w*))"
)
_NAME = re.compile(r"^[A-Za-z_]\w*$")
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\[[^\]]*\])?\+?=")
_TOOL = re.compile(r"^[\w.+/@:-]+$")


def analyze_shell(code: str) -> Analysis:
    """Variables, tools, danger, waits and parameters of a shell step."""
    script = lex(code)
    commands = _expand_wrapped(script.commands)
    programs = [(command, *_program(command)) for command in commands]
    assigns = _assigned_names(commands)
    return Analysis(
        variables=_variables_used(commands, script, assigns),
        assigns=tuple(sorted(assigns)),
        tools=_tools(programs),
        danger=find_danger(code),
        interactive=_interactive(programs),
        parameters=tuple(_parameters(programs)),
    )


_Programs = list[tuple[Command, str, list[str]]]


def analyze_sql(code: str) -> Analysis:
    """Danger of a SQL step (SQL steps read no shell variables and call no tools)."""
    return Analysis(danger=find_danger(code))


def _assignment(word: Word) -> re.Match[str] | None:
    """`NAME=value` (the value may be quoted: `PGPASSWORD="$X"`), or None."""
    if not word.parts or word.parts[0][1]:
        return None
    return _ASSIGNMENT.match(word.parts[0][0])


def _command_words(command: Command) -> list[Word]:
    """The words from the command name on: leading assignments and keywords skipped."""
    words = command.words
    i = 0
    while i < len(words):
        word = words[i]
        value = word.value
        if _assignment(word):
            i += 1
        elif value in _KEYWORDS and not word.quoted:
            if value in {"for", "select", "case"}:
                return []
            i += 1
        else:
            break
    return words[i:]


def _expand_wrapped(commands: list[Command]) -> list[Command]:
    """Commands plus the ones hidden in `watch '...'`, `sh -c '...'` and wrappers like sudo."""
    out: list[Command] = []
    for command in commands:
        out.append(command)
        words = _command_words(command)
        inner = _inner_script(words)
        if inner is not None:
            for nested in lex(inner).commands:
                nested.line = command.line
                nested.nested = True
                out.append(nested)
    return out


def _inner_script(words: list[Word]) -> str | None:
    if not words:
        return None
    name = os.path.basename(words[0].value)
    args = [w.value for w in words[1:]]
    if name == "watch":
        rest = _skip_options(args, {"-n", "--interval"})
        return " ".join(rest) if rest else None
    if name in {"sh", "bash", "zsh", "dash"} and "-c" in args:
        index = args.index("-c")
        return args[index + 1] if index + 1 < len(args) else None
    return None


def _skip_options(args: list[str], with_value: set[str]) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in with_value else 1
    return args[i:]


def _program(command: Command) -> tuple[str, list[str]]:
    """The program a command runs (wrappers such as sudo or env looked through) and its args."""
    words = [w.value for w in _command_words(command)]
    while words:
        name = os.path.basename(words[0])
        if name not in _WRAPPERS:
            return words[0], words[1:]
        rest = words[1:]
        with_value = _WRAPPER_OPTS_WITH_VALUE.get(name, set())
        i = 0
        while i < len(rest) and (rest[i].startswith("-") or (name == "env" and "=" in rest[i])):
            i += 2 if rest[i] in with_value else 1
        if name == "timeout" and i < len(rest):
            i += 1  # the duration
        words = rest[i:]
    return "", []


def _tools(programs: _Programs) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for command, program, _ in programs:
        for name in (program, *_wrapper_names(command)):
            if _is_tool(name):
                seen.setdefault(name, None)
    return tuple(seen)


def _is_tool(name: str) -> bool:
    return (
        bool(name)
        and name not in _BUILTINS
        and name not in _KEYWORDS
        and bool(_TOOL.match(name))
        and not name.startswith("-")
    )


def _wrapper_names(command: Command) -> list[str]:
    head = next((w.value for w in command.words if not _assignment(w)), "")
    return [head] if os.path.basename(head) in {"sudo", "xargs", "timeout"} else []


def _assigned_names(commands: list[Command]) -> set[str]:
    names: set[str] = set()
    for command in commands:
        words = command.words
        i = 0
        while (
            i < len(words)
            and not words[i].quoted
            and words[i].value in _KEYWORDS - {"for", "select"}
        ):
            i += 1
        while i < len(words) and (match := _assignment(words[i])):
            names.add(match["name"])
            i += 1
        head = words[i].value if i < len(words) else ""
        args = [w.value for w in words[i + 1 :]]
        if head in {"export", "local", "declare", "typeset", "readonly"}:
            names.update(m[1] for a in args if (m := re.match(r"([A-Za-z_]\w*)", a)))
        elif head in {"for", "select"} and args and _NAME.match(args[0]):
            names.add(args[0])
        elif head in {"read", "mapfile", "readarray", "getopts"}:
            names.update(_read_names(args))
    return names


def _read_names(args: list[str]) -> list[str]:
    names: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg[-1:] in {"p", "t", "n", "d", "u", "a", "N", "i", "C", "c"} and len(arg) >= 2
        elif _NAME.match(arg):
            names.append(arg)
    return names


def _parameters(programs: _Programs) -> list[Parameter]:
    params: list[Parameter] = []
    for command, program, args in programs:
        if program != "read":
            continue
        prompt, secret, names = "", False, []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg.startswith("-") and len(arg) > 1:
                secret = secret or "s" in arg[1:]
                if arg.endswith("p") and i + 1 < len(args):
                    prompt = args[i + 1]
                    i += 1
                elif arg[-1:] in {"t", "n", "d", "u", "N", "i", "a"}:
                    i += 1
            elif _NAME.match(arg):
                names.append(arg)
            i += 1
        if prompt:
            for name in names or ["REPLY"]:
                params.append(Parameter(name, prompt.strip(), command.line, secret))
    return params


def _variables_used(commands: list[Command], script: Script, assigned: set[str]) -> tuple[str, ...]:
    required: dict[str, None] = {}
    optional: set[str] = set()
    texts = [w.expandable() for c in commands for w in c.words]
    texts.extend(h.body for h in script.heredocs if h.expand)
    for text in texts:
        for match in _VAR.finditer(text):
            name = match["braced"] or match["plain"]
            op = match["op"] or ""
            if op.startswith((":-", "-", ":=", "=", ":+", "+")) and match["braced"]:
                optional.add(name)
            else:
                required.setdefault(name, None)
    return tuple(name for name in required if name not in assigned and name not in _SHELL_PROVIDED)


_FOREVER_PROGRAMS = {
    "watch": "watch",
    "top": "top",
    "htop": "htop",
    "less": "pager",
    "more": "pager",
    "vim": "editor",
    "vi": "editor",
    "nano": "editor",
    "emacs": "editor",
}
_SESSION_OPTIONS = {
    "psql": {"-c", "--command", "-f", "--file", "-l", "--list", "-V", "--version"},
    "mysql": {"-e", "--execute"},
}
_REDIS_OPTS_WITH_VALUE = {"-h", "-p", "-a", "-n", "-u", "-s", "--user", "--pass", "-i", "-r"}
_REDIS_FOREVER = {"--latency", "--latency-history", "--stat", "monitor", "MONITOR", "subscribe"}
_UNBOUNDED = (["while", "true"], ["while", ":"], ["until", "false"])


def _interactive(programs: _Programs) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for command, program, args in programs:
        head = [w.value for w in command.words[:2]]
        if head in _UNBOUNDED or (head[:1] == ["for"] and head[1:2] and head[1].startswith("((;;")):
            found.setdefault("unbounded loop", None)
        name = os.path.basename(program)
        for check in _WAIT_CHECKS:
            reason = check(name, args, command)
            if reason:
                found.setdefault(reason, None)
                break
    return tuple(found)


def _forever_program(name: str, args: list[str], command: Command) -> str:
    if name == "top" and "-b" in args:
        return ""
    return _FOREVER_PROGRAMS.get(name, "")


def _follows(name: str, args: list[str], command: Command) -> str:
    flags = set(args)
    if name == "tail" and flags & {"-f", "-F", "--follow"}:
        return "tail -f"
    if ("logs" in args and flags & {"-f", "--follow"}) or (name == "journalctl" and "-f" in flags):
        return "logs -f"
    return ""


def _container_tty(name: str, args: list[str], command: Command) -> str:
    flags = set(args)
    if name in {"docker", "kubectl", "podman"} and (
        {"-it", "-ti"} & flags or {"-i", "-t"} <= flags
    ):
        return "-it"
    if name == "docker" and args[:1] == ["stats"] and "--no-stream" not in flags:
        return "docker stats"
    if name == "kubectl" and flags & {"-w", "--watch"}:
        return "kubectl --watch"
    if name == "ping" and not any(a.startswith("-c") for a in args):
        return "ping without -c"
    return ""


def _client_session(name: str, args: list[str], command: Command) -> str:
    fed = command.stdin or command.piped
    if name == "redis-cli":
        if set(args) & _REDIS_FOREVER:
            return "redis-cli runs until interrupted"
        if not fed and not _positional(args, _REDIS_OPTS_WITH_VALUE):
            return "redis-cli session"
    options = _SESSION_OPTIONS.get(name)
    if options is not None and not fed and not set(args) & options:
        short = {a[:2] for a in args if a.startswith("-") and not a.startswith("--")}
        if not short & {"-c", "-f", "-e", "-l"}:
            return f"{name} session"
    return ""


_WAIT_CHECKS = (_forever_program, _follows, _container_tty, _client_session)


def _positional(args: list[str], with_value: set[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in with_value
        else:
            out.append(arg)
    return out
