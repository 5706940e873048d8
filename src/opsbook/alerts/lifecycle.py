"""The life of one alert, as a pure function of what the rule saw and the time.

    inactive ─match─▶ pending ─held for `for`─▶ firing ─missed for keep_firing_for─▶ resolved
                        │                         │
                        └─one miss: gone          └─match again: keeps firing

Exactly Prometheus' semantics (rules/alerting.go): an alert is created pending when the condition
first matches and fires once `now - active_at >= for` at an evaluation (at once when `for` is 0);
a pending alert that misses a single evaluation is dropped, so `for` starts again; a firing alert
whose condition stops matching keeps firing until `keep_firing_for` has passed since the first
miss (`keep_firing_since`), and any match resets that clock. A resolved alert that matches again
starts a new alert (a new pending).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertState:
    state: State
    active_at: datetime  # when the condition started matching (pending since)
    value: float | None = None  # the last value the rule saw
    fired_at: datetime | None = None
    keep_firing_since: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state in (State.PENDING, State.FIRING)


@dataclass(frozen=True, slots=True)
class Transition:
    from_state: State
    to_state: State
    at: datetime
    value: float | None  # the value that caused it (None: the series had no data)


def step(
    current: AlertState | None,
    *,
    matched: bool,
    value: float | None,
    now: datetime,
    hold: float,
    keep_firing_for: float = 0.0,
) -> tuple[AlertState | None, Transition | None]:
    """The alert after one evaluation at `now`, and the transition it made, if any.

    `current` None (or resolved) means no open alert; the result is None when the alert is gone
    (a pending alert that missed). `hold` and `keep_firing_for` are seconds.
    """
    if current is None or not current.open:
        if not matched:
            return current, None
        return _start(now, value, hold)
    if current.state is State.PENDING:
        return _pending(current, matched, value, now, hold)
    if matched:
        return replace(current, value=value, keep_firing_since=None), None
    return _missed_while_firing(current, value, now, keep_firing_for)


def _pending(
    current: AlertState, matched: bool, value: float | None, now: datetime, hold: float
) -> tuple[AlertState | None, Transition | None]:
    if not matched:
        return None, Transition(State.PENDING, State.INACTIVE, now, value)
    if (now - current.active_at).total_seconds() >= hold:
        fired = replace(current, state=State.FIRING, fired_at=now, value=value)
        return fired, Transition(State.PENDING, State.FIRING, now, value)
    return replace(current, value=value), None


def _start(now: datetime, value: float | None, hold: float) -> tuple[AlertState, Transition]:
    if hold <= 0:
        firing = AlertState(State.FIRING, active_at=now, value=value, fired_at=now)
        return firing, Transition(State.INACTIVE, State.FIRING, now, value)
    pending = AlertState(State.PENDING, active_at=now, value=value)
    return pending, Transition(State.INACTIVE, State.PENDING, now, value)


def _missed_while_firing(
    current: AlertState, value: float | None, now: datetime, keep_firing_for: float
) -> tuple[AlertState, Transition | None]:
    if keep_firing_for > 0:
        since = current.keep_firing_since or now
        if (now - since).total_seconds() < keep_firing_for:
            return replace(current, keep_firing_since=since), None
    resolved = replace(current, state=State.RESOLVED, resolved_at=now, value=value)
    return resolved, Transition(State.FIRING, State.RESOLVED, now, value)


def next_deadline(alert: AlertState, hold: float, keep_firing_for: float) -> datetime | None:
    """When this alert would change state if nothing else changed (to evaluate exactly then)."""

    if alert.state is State.PENDING:
        return alert.active_at + timedelta(seconds=hold)
    if alert.state is State.FIRING and alert.keep_firing_since is not None:
        return alert.keep_firing_since + timedelta(seconds=keep_firing_for)
    return None
