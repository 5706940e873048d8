"""File-tree backups as a gzip-compressed tar, checked by reading every member back."""

from __future__ import annotations

import fnmatch
import gzip
import os
import tarfile
import zlib
from pathlib import Path

from opsbook import __version__
from opsbook.backups.model import BackupFailure, DumpResult, Progress, RestoreCheck
from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.config.backups import BackupConfig
from opsbook.errors import ConflictError

EXTENSION = "tar.gz"
_READ_CHUNK = 1024 * 1024


def source_path(config: Config, target: BackupConfig) -> Path:
    assert target.path is not None
    return config.resolve_path(target.path)


def dump(config: Config, target: BackupConfig, out: Path, progress: Progress) -> DumpResult:
    """Archive the folder into `out`, leaving out the `exclude` patterns."""
    root = source_path(config, target)
    if not root.is_dir():
        raise BackupFailure(f"folder {root} does not exist")
    files = size = 0

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        nonlocal files, size
        relative = info.name.split("/", 1)[1] if "/" in info.name else ""
        if relative and any(fnmatch.fnmatch(relative, p) for p in target.exclude):
            return None
        if info.isfile():
            files, size = files + 1, size + info.size
            progress(size)
        return info

    try:
        with tarfile.open(out, "w:gz", compresslevel=6) as archive:
            archive.add(root, arcname=root.name or "root", filter=keep)
    except OSError as exc:
        raise BackupFailure(f"cannot archive {root}: {exc}") from None
    return DumpResult(
        {"tar": "python tarfile", "opsbook": __version__}, {"files": files, "bytes": size}
    )


def verify(path: Path) -> None:
    """Every member must read back in full (gzip CRC and tar headers checked)."""
    _read_all(path)


def _read_all(path: Path) -> dict[str, int]:
    files = size = 0
    try:
        with gzip.open(path, "rb") as stream, tarfile.open(fileobj=stream, mode="r:") as archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    assert handle is not None
                    while chunk := handle.read(_READ_CHUNK):
                        size += len(chunk)
                    files += 1
            # tar stops at its end-of-archive marker; gzip checks its CRC and length only at
            # the end of the stream, so read on to there.
            while stream.read(_READ_CHUNK):
                pass
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupFailure(f"archive is damaged: {exc}") from None
    return {"files": files, "bytes": size}


def restore_test(
    path: Path, expected: dict[str, int], *, clock: Clock, fetch_seconds: float, scratch: Path
) -> RestoreCheck:
    """Extract into a scratch folder and compare the number of files and bytes."""
    into = scratch / "restore-test"
    check = RestoreCheck(restore_seconds=0.0, scratch=str(into))
    started = clock.monotonic()
    try:
        _extract(path, into)
    except BackupFailure as exc:
        check.problems.append(str(exc))
        return check
    finally:
        check.restore_seconds = fetch_seconds + clock.monotonic() - started
    check.compare_counts(expected, _tree_counts(into))
    return check


def restore(path: Path, to: Path) -> str:
    """Extract into the folder `to`, which must be new or empty."""
    if to.exists() and any(to.iterdir()):
        raise ConflictError(f"{to} is not empty; restore into a new or empty folder")
    _extract(path, to)
    return str(to)


def _extract(path: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(into, filter="data")
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupFailure(f"cannot extract the archive: {exc}") from None


def _tree_counts(root: Path) -> dict[str, int | None]:
    files = size = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            entry = Path(folder) / name
            if entry.is_file() and not entry.is_symlink():
                files, size = files + 1, size + entry.stat().st_size
    return {"files": files, "bytes": size}
