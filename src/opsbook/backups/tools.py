"""Running PostgreSQL's client tools without putting a password in their command line.

A password from the URL goes into a private PGPASSFILE (mode 0600, removed afterwards) named in
the child's environment; the argv holds only a conninfo string without it, so `ps` and
/proc/*/cmdline never show it. Long tools report progress while they run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from opsbook.backups.model import Progress
from opsbook.errors import UnavailableError

_POLL_SECONDS = 1.0
_STDERR_LINES = 8


@dataclass(frozen=True, slots=True)
class Target:
    """A libpq connection split into what may be shown and the password that may not."""

    conninfo: str  # without the password
    password: str | None
    dbname: str

    def with_dbname(self, dbname: str) -> Target:
        params = conninfo_to_dict(self.conninfo)
        params["dbname"] = dbname
        return Target(make_conninfo("", **params), self.password, dbname)

    def dsn(self) -> str:
        """The full conninfo, password included, for connections made in this process."""
        if self.password is None:
            return self.conninfo
        return make_conninfo(self.conninfo, password=self.password)


def split_url(url: str) -> Target:
    """`url` (postgresql://... or a conninfo string) without its password, and the password."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    dbname = str(params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE", ""))
    secret = str(password) if password is not None else None
    return Target(make_conninfo("", **params), secret, dbname)


@contextlib.contextmanager
def libpq_env(target: Target) -> Iterator[dict[str, str]]:
    """The environment for a client tool: PGPASSFILE names a private file with the password."""
    env = dict(os.environ)
    if target.password is None:
        yield env
        return
    folder = Path(tempfile.mkdtemp(prefix="opsbook-pgpass-"))
    passfile = folder / "pgpass"
    escaped = target.password.replace("\\", "\\\\").replace(":", "\\:")
    fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"*:*:*:*:{escaped}\n")
    env["PGPASSFILE"] = str(passfile)
    env.pop("PGPASSWORD", None)
    try:
        yield env
    finally:
        passfile.unlink(missing_ok=True)
        folder.rmdir()


@dataclass(frozen=True, slots=True)
class ToolResult:
    returncode: int
    stdout: str
    stderr: str


def run_tool(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    watch: Path | None = None,
    progress: Progress | None = None,
    capture_stdout: bool = False,
) -> ToolResult:
    """Run a client tool to its end, calling `progress` with the size of `watch` meanwhile."""
    try:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise UnavailableError(
            f"{argv[0]} is not installed (install the PostgreSQL client tools)"
        ) from None
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=_POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if progress is not None:
                    progress(_size(watch))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return ToolResult(
        proc.returncode,
        (out or b"").decode("utf-8", "replace"),
        (err or b"").decode("utf-8", "replace"),
    )


def describe_failure(tool: str, result: ToolResult) -> str:
    """`pg_dump failed (exit 1): <last lines of stderr>` or `... was killed by SIGKILL`."""
    if result.returncode < 0:
        name = signal.Signals(-result.returncode).name
        head = f"{tool} was killed by {name}"
        if name == "SIGXFSZ":
            head += " (file size limit exceeded: the destination is full)"
    else:
        head = f"{tool} failed (exit {result.returncode})"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    tail = "; ".join(lines[-_STDERR_LINES:])
    return f"{head}: {tail}" if tail else head


@functools.cache
def tool_version(tool: str) -> str:
    """`15.4` from `pg_dump (PostgreSQL) 15.4 (Debian ...)`, or the whole line."""
    try:
        text = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    match = re.search(r"\)\s*(\d+(?:\.\d+)*)", text)
    return match[1] if match else text.strip()


def _size(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        return path.stat().st_size
    except OSError:
        return 0
