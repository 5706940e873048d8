"""Values given to a run: `--var K=V`, env files, secret names, and what steps set themselves."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from opsbook.errors import SourceRef, UsageError
from opsbook.runbook.model import Step
from opsbook.secrets import MASK, is_secret_name

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# NAME=..., export NAME=..., local/declare/readonly NAME=..., read [-opts] NAME, for NAME in
_ASSIGNED = re.compile(
    r"(?:^|[;&|(\s])(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*)?"
    r"([A-Za-z_][A-Za-z0-9_]*)(?:\[[^]]*\])?\+?="
)
_READ = re.compile(r"\bread\b((?:\s+-[a-zA-Z]+(?:\s+(?:\"[^\"]*\"|'[^']*'|\S+))?)*)((?:\s+\w+)+)")
_FOR = re.compile(r"\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b")


def parse_var(text: str, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """`K=V` as (K, V); a bare `K` takes K from `environ`, else (K, None): ask for it."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not _NAME.match(name):
        raise UsageError(
            f"--var {text!r}: write NAME=value (or NAME to take it from the environment)"
        )
    if sep:
        return name, value
    return name, environ.get(name)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (`export` allowed, quotes stripped, `#` comments); errors name the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(
            f"cannot read env file: {exc.strerror}", source=SourceRef(str(path))
        ) from None
    except UnicodeDecodeError:
        raise UsageError("env file is not UTF-8 text", source=SourceRef(str(path))) from None
    values: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise UsageError("expected NAME=value", source=SourceRef(str(path), number))
        values[name] = _unquote(value.strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace('\\"', '"').replace("\\n", "\n") if value[0] == '"' else inner
    return value.split(" #", 1)[0].rstrip()


def secret_names(names: Iterable[str], declared: Iterable[str]) -> frozenset[str]:
    """The names among `names` whose values must be masked."""
    extra = set(declared)
    return frozenset(n for n in names if n in extra or is_secret_name(n))


def masked(values: Mapping[str, str], secrets: Iterable[str]) -> dict[str, str]:
    hidden = set(secrets)
    return {k: (MASK if k in hidden or is_secret_name(k) else v) for k, v in values.items()}


def names_set_by(code: str) -> set[str]:
    """Variables a shell step sets (assignments, `read`, `for`), for preflight's bookkeeping."""
    names = {m[1] for m in _ASSIGNED.finditer(code)}
    names |= {m[1] for m in _FOR.finditer(code)}
    for match in _READ.finditer(code):
        names |= set(match[2].split())
    return names


def steps_fingerprint(steps: Iterable[Step]) -> str:
    """sha256 of what the selected steps would do; resume refuses when it changed."""
    digest = hashlib.sha256()
    for step in steps:
        attrs = ",".join(f"{k}={v}" for k, v in sorted(step.attrs.items()))
        for part in (str(step.number), step.kind, step.language, step.title, attrs, step.code):
            digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()
