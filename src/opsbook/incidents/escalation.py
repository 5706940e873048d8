"""Escalation timing as pure functions of the ladder, the detection time and `now`.

The incident row stores the ladder in force (copied when it opened), the last level paged and
the time the next level is due; one loop pages what is due. Because each page is enqueued with a
key naming the incident and level in the same transaction that moves the level on, a restart can
neither lose nor repeat a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Rung:
    level: int
    target: str
    after_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "target": self.target, "after_seconds": self.after_seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rung:
        return cls(int(data["level"]), str(data["target"]), float(data["after_seconds"]))


def due_at(rung: Rung, detected_at: datetime) -> datetime:
    return detected_at + timedelta(seconds=rung.after_seconds)


def next_due(ladder: tuple[Rung, ...], detected_at: datetime, paged_level: int) -> datetime | None:
    """When the next level after `paged_level` is due, or None when the ladder is exhausted."""
    upcoming = [r for r in ladder if r.level > paged_level]
    return due_at(upcoming[0], detected_at) if upcoming else None


def due_rungs(
    ladder: tuple[Rung, ...], detected_at: datetime, paged_level: int, now: datetime
) -> list[Rung]:
    """Levels above `paged_level` whose time has come, lowest first."""
    return [r for r in ladder if r.level > paged_level and due_at(r, detected_at) <= now]
