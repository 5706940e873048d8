"""SQLite backups through the online backup API, checked with `PRAGMA integrity_check`."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opsbook import __version__
from opsbook.backups.model import BackupFailure, DumpResult, Progress, RestoreCheck
from opsbook.backups.smoke import run_smoke
from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.config.backups import BackupConfig
from opsbook.errors import ConflictError

EXTENSION = "sqlite3"
_PAGES_PER_STEP = 4096


def source_path(config: Config, target: BackupConfig) -> Path:
    assert target.path is not None
    return config.resolve_path(target.path.removeprefix("sqlite:///"))


def dump(config: Config, target: BackupConfig, out: Path, progress: Progress) -> DumpResult:
    """Copy the live database page by page into `out`; writers may go on meanwhile."""
    path = source_path(config, target)
    if not path.is_file():
        raise BackupFailure(f"SQLite database {path} does not exist")
    try:
        with _open(path, read_only=True) as src, _open(out) as dst:

            def step(_status: int, remaining: int, total: int) -> None:
                progress((total - remaining) * src.execute("PRAGMA page_size").fetchone()[0])

            src.backup(dst, pages=_PAGES_PER_STEP, progress=step)
            counts = _largest_counts(dst, target.count_tables)
    except sqlite3.Error as exc:
        raise BackupFailure(f"SQLite backup of {path} failed: {exc}") from None
    versions = {"sqlite": sqlite3.sqlite_version, "opsbook": __version__}
    return DumpResult(tool_versions=versions, counts=counts)


def verify(path: Path) -> None:
    """`PRAGMA integrity_check` must answer ok."""
    try:
        with _open(path, read_only=True) as conn:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.Error as exc:
        raise BackupFailure(f"not a readable SQLite database: {exc}") from None
    if rows != ["ok"]:
        raise BackupFailure("integrity check failed: " + "; ".join(map(str, rows[:5])))


def restore_test(
    config: Config,
    target: BackupConfig,
    path: Path,
    expected: dict[str, int],
    *,
    clock: Clock,
    fetch_seconds: float,
    scratch: Path,
) -> RestoreCheck:
    """Restore into a scratch file, check it, compare row counts and run the smoke queries."""
    copy = scratch / f"restore-test.{EXTENSION}"
    check = RestoreCheck(restore_seconds=0.0, scratch=str(copy))
    started = clock.monotonic()
    try:
        shutil.copyfile(path, copy)
        verify(copy)
    except (OSError, BackupFailure) as exc:
        check.problems.append(str(exc))
        return check
    finally:
        check.restore_seconds = fetch_seconds + clock.monotonic() - started
    with _open(copy) as conn:
        check.compare_counts(expected, {name: _count(conn, name) for name in expected})
        run_smoke(target.smoke_queries, lambda text: _first_row(conn, text), check)
    return check


def restore(path: Path, to: Path) -> str:
    """Write the backup to the new file `to` through the backup API."""
    if to.exists():
        raise ConflictError(f"{to} already exists; restore into a new file")
    to.parent.mkdir(parents=True, exist_ok=True)
    with _open(path, read_only=True) as src, _open(to) as dst:
        src.backup(dst)
    return str(to)


@contextlib.contextmanager
def _open(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _largest_counts(conn: sqlite3.Connection, limit: int) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    counts = {name: _count(conn, name) or 0 for name in names}
    largest = sorted(counts, key=lambda name: (-counts[name], name))[:limit]
    return {name: counts[name] for name in largest}


def _count(conn: sqlite3.Connection, name: str) -> int | None:
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        return int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])  # noqa: S608
    except sqlite3.OperationalError:
        return None


def _first_row(conn: sqlite3.Connection, text: str) -> Sequence[Any] | None:
    row = conn.execute(text).fetchone()
    return tuple(row) if row is not None else None
