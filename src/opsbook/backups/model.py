"""Typed values of backups: what a dump and a restore check report. No I/O here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opsbook.errors import OpsbookError

Progress = Callable[[int], None]
"""Called now and then during long work with the bytes written so far."""


class BackupStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"  # complete; `verified` says whether it was proven readable
    FAILED = "failed"  # the dump, upload, verification or a restore test failed


class OffsiteStatus(StrEnum):
    """The state of a backup's off-site copy (None on the row: no copy was asked for)."""

    PENDING = "pending"  # to be uploaded: not tried yet, or its upload was interrupted
    OK = "ok"  # uploaded, and its size and SHA-256 read back equal the backup's
    FAILED = "failed"  # the last upload or its check failed; the next run tries again
    PRUNED = "pruned"  # deleted by retention (or never made, when its backup went first)


class BackupFailure(OpsbookError):
    """A backup, verification or restore did not succeed; the message says why and where."""


@dataclass(frozen=True, slots=True)
class DumpResult:
    tool_versions: dict[str, str]
    counts: dict[str, int]  # rows of the largest tables, or files and bytes


@dataclass
class RestoreCheck:
    """What a restore test found."""

    restore_seconds: float
    scratch: str
    counts: dict[str, list[int | None]] = field(default_factory=dict)  # [at backup, restored]
    smoke: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def compare_counts(self, expected: dict[str, int], actual: dict[str, int | None]) -> None:
        for name, count in expected.items():
            found = actual.get(name)
            self.counts[name] = [count, found]
            if found != count:
                shown = "missing" if found is None else str(found)
                self.problems.append(f"{name}: {count} at backup time, {shown} after restore")
