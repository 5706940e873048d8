"""When to notify a group of alerts, as a pure function of the group's alerts and the time.

Alertmanager's timing (dispatch.go, notify.go), on alerts grouped per rule by `group_by` labels:
- the first message of an episode goes out `group_wait` after its first alert fired;
- later changes (another alert fires, one resolves) go out at most every `group_interval`;
- with no change, a reminder goes out every `repeat_interval` while an announced alert fires;
- when the last announced alert resolves the group sends one resolved message and the episode
  ends. A silence or maintenance window holds back firing messages and reminders, never the
  resolve of an alert whose firing was announced. Acknowledged alerts get no reminders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from opsbook.alerts.lifecycle import State


class Kind(StrEnum):
    TRIGGER = "trigger"  # the first message of an episode
    UPDATE = "update"  # alerts joined or resolved while others still fire
    REMINDER = "reminder"  # nothing changed; still firing after repeat_interval
    RESOLVE = "resolve"  # the last announced alert resolved: the episode ends


@dataclass(frozen=True, slots=True)
class Member:
    """One alert of a group as the planner needs it."""

    id: int
    state: State
    fired_at: datetime | None
    suppressed: bool  # a silence or maintenance window covers it now
    notified: bool  # its firing was announced
    resolve_notified: bool = False
    acked: bool = False


@dataclass(frozen=True, slots=True)
class Timing:
    group_wait: float = 0.0
    group_interval: float = 60.0
    repeat_interval: float = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class Progress:
    """What the store remembers of a group between evaluations."""

    episode: int = 0  # increments when a new episode is triggered
    active: bool = False  # an episode is announced and not yet resolved
    last_flush_at: datetime | None = None  # the last message of any kind
    last_sent_at: datetime | None = None  # the last trigger, update or reminder
    sequence: int = 0  # messages sent in this episode


@dataclass(frozen=True)
class Plan:
    kind: Kind | None  # None: nothing to send now
    firing: tuple[int, ...] = ()  # alerts the message lists as firing
    resolved: tuple[int, ...] = ()  # alerts the message lists as resolved
    progress: Progress = field(default_factory=Progress)
    due_at: datetime | None = None  # when to look again if nothing else happens


def plan(members: list[Member], progress: Progress, timing: Timing, now: datetime) -> Plan:
    """The message this group should send at `now`, if any, and the group's next progress."""
    firing_visible = [m for m in members if m.state is State.FIRING and not m.suppressed]
    new = [m for m in firing_visible if not m.notified]
    announced = [m for m in members if m.state is State.FIRING and m.notified]
    resolved = [
        m for m in members if m.state is State.RESOLVED and m.notified and not m.resolve_notified
    ]
    if not progress.active:
        return _first(new, progress, timing, now)
    if new or resolved:
        due = _after(progress.last_flush_at, timing.group_interval)
        if due is not None and now < due:
            return Plan(None, progress=progress, due_at=due)
        still = tuple(m.id for m in [*announced, *new])
        kind = Kind.UPDATE if still else Kind.RESOLVE
        return _sent(kind, still, tuple(m.id for m in resolved), progress, now)
    remindable = [m for m in announced if not m.suppressed and not m.acked]
    if not remindable:
        return Plan(None, progress=progress)
    due = _after(progress.last_sent_at, timing.repeat_interval)
    if due is not None and now < due:
        return Plan(None, progress=progress, due_at=due)
    return _sent(Kind.REMINDER, tuple(m.id for m in announced), (), progress, now)


def _first(new: list[Member], progress: Progress, timing: Timing, now: datetime) -> Plan:
    if not new:
        return Plan(None, progress=progress)
    earliest = min((m.fired_at for m in new if m.fired_at is not None), default=now)
    due = earliest + timedelta(seconds=timing.group_wait)
    if now < due:
        return Plan(None, progress=progress, due_at=due)
    started = Progress(episode=progress.episode + 1, active=True)
    return _sent(Kind.TRIGGER, tuple(m.id for m in new), (), started, now)


def _sent(
    kind: Kind, firing: tuple[int, ...], resolved: tuple[int, ...], before: Progress, now: datetime
) -> Plan:
    if kind is Kind.RESOLVE:
        after = Progress(episode=before.episode, active=False, last_flush_at=now)
    else:
        after = Progress(
            episode=before.episode,
            active=True,
            last_flush_at=now,
            last_sent_at=now,
            sequence=before.sequence + 1,
        )
    return Plan(kind, firing, resolved, after)


def _after(when: datetime | None, seconds: float) -> datetime | None:
    return None if when is None else when + timedelta(seconds=seconds)
