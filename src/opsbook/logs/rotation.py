"""Log rotation and disk-emergency cleanup: plan first (what, how big, what it frees), then act.

Rotation compresses matching files older than N days (gzip, mtime kept) and deletes archives
older than M days. Cleanup deletes matching files older than N days. Both walk the folders
recursively, never follow symbolic links and touch regular files only.
"""

from __future__ import annotations

import fnmatch
import gzip
import os
import shutil
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opsbook.errors import NotFoundError, UsageError

SAMPLE_BYTES = 1 << 20
"""Bytes compressed to estimate what compressing a file would free in a dry run."""


@dataclass
class FileAction:
    path: str
    action: str  # "compress" or "delete"
    bytes: int
    age_days: float
    frees_bytes: int  # estimated in a dry run of a compression; exact once done
    done: bool = False
    error: str | None = None


@dataclass
class Plan:
    actions: list[FileAction] = field(default_factory=list)
    dry_run: bool = True

    @property
    def frees_bytes(self) -> int:
        return sum(a.frees_bytes for a in self.actions if a.error is None)

    def as_data(self, folders: Sequence[Path]) -> dict[str, Any]:
        disks = {}
        for folder in folders:
            usage = shutil.disk_usage(folder)
            disks[str(folder)] = {"total_bytes": usage.total, "free_bytes": usage.free}
        return {
            "dry_run": self.dry_run,
            "files": [vars(a) for a in self.actions],
            "frees_bytes": self.frees_bytes,
            "errors": sum(1 for a in self.actions if a.error),
            "disks": disks,
        }


def files_in(folders: Sequence[Path], patterns: Sequence[str]) -> Iterator[Path]:
    """Regular files under `folders` whose names match one of `patterns` (no symlinks)."""
    for folder in folders:
        if not folder.is_dir():
            raise NotFoundError(f"{folder}: no such folder")
        for root, dirs, names in os.walk(folder, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                if any(fnmatch.fnmatch(name, p) for p in patterns) and _regular(path):
                    yield path


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _age_days(path: Path, now: datetime) -> float:
    return (now.timestamp() - path.stat().st_mtime) / 86400.0


def plan_rotation(
    folders: Sequence[Path],
    now: datetime,
    *,
    patterns: Sequence[str] = ("*.log",),
    compress_after_days: float = 7.0,
    delete_after_days: float = 30.0,
    archive_patterns: Sequence[str] = ("*.gz",),
) -> Plan:
    """Compress `patterns` files older than N days; delete archives older than M days."""
    if delete_after_days < compress_after_days:
        raise UsageError("--delete-after must not be shorter than --compress-after")
    plan = Plan()
    for path in files_in(folders, archive_patterns):
        age = _age_days(path, now)
        if age > delete_after_days:
            size = path.stat().st_size
            plan.actions.append(FileAction(str(path), "delete", size, round(age, 2), size))
    for path in files_in(folders, patterns):
        if any(fnmatch.fnmatch(path.name, p) for p in archive_patterns):
            continue
        age = _age_days(path, now)
        if age > compress_after_days:
            size = path.stat().st_size
            saved = size - _estimated_gzip_size(path, size)
            plan.actions.append(FileAction(str(path), "compress", size, round(age, 2), saved))
    return plan


def plan_cleanup(
    folders: Sequence[Path], now: datetime, *, patterns: Sequence[str], older_than_days: float
) -> Plan:
    """Delete `patterns` files older than N days, largest first."""
    if not patterns:
        raise UsageError("give at least one --pattern (e.g. '*.log') so nothing else is deleted")
    plan = Plan()
    for path in files_in(folders, patterns):
        age = _age_days(path, now)
        if age > older_than_days:
            size = path.stat().st_size
            plan.actions.append(FileAction(str(path), "delete", size, round(age, 2), size))
    plan.actions.sort(key=lambda a: (-a.bytes, a.path))
    return plan


def _estimated_gzip_size(path: Path, size: int) -> int:
    """Compressed size estimated from the first MiB (exact for smaller files)."""
    if size == 0:
        return 20
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
    packed = len(zlib.compress(sample, 6)) + 18
    return int(packed * size / len(sample)) if sample else 20


def carry_out(plan: Plan) -> Plan:
    """Do what the plan says; each file's outcome (or error) is recorded on its action."""
    plan.dry_run = False
    for action in plan.actions:
        path = Path(action.path)
        try:
            if action.action == "delete":
                path.unlink()
            else:
                action.frees_bytes = action.bytes - _compress(path)
            action.done = True
        except OSError as exc:
            action.error = exc.strerror or str(exc)
            action.frees_bytes = 0
    return plan


def _compress(path: Path) -> int:
    """gzip `path` to `path.gz` (same mtime and mode), then remove it; returns the new size."""
    target = path.with_name(path.name + ".gz")
    if target.exists():
        raise FileExistsError(17, f"{target.name} already exists")
    partial = path.with_name(f".{path.name}.gz.partial")
    stat = path.stat()
    try:
        with path.open("rb") as source, gzip.open(partial, "wb", compresslevel=6) as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        os.chmod(partial, stat.st_mode & 0o777)
        os.utime(partial, (stat.st_atime, stat.st_mtime))
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    path.unlink()
    return target.stat().st_size
