"""Flap control, a pure function of the last state and the new outcome.

A check counts as failing once `retries + 1` runs in a row failed, or, with `fail: M of N`, once M
of the last N runs failed. It counts as recovered after `recover` good runs in a row (and, with a
window, once fewer than M of the last N failed). A failure not yet confirmed leaves the status as
it was (`pending`); a check that has never been confirmed either way stays `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from opsbook.checks.model import Outcome, Status, status_of
from opsbook.config.checks import CheckConfig

RECENT_KEPT = 20
CODES = {Outcome.OK: "o", Outcome.WARN: "w", Outcome.FAIL: "f"}


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    critical: bool = True
    retries: int = 0
    window: tuple[int, int] | None = None  # (failures, of)
    recover: int = 1

    @classmethod
    def of(cls, spec: CheckConfig) -> FlapPolicy:
        return cls(spec.critical, spec.retries, spec.fail, spec.recover)

    @property
    def kept(self) -> int:
        return max(RECENT_KEPT, self.window[1] if self.window else 0)


@dataclass(frozen=True, slots=True)
class FlapState:
    status: Status = Status.UNKNOWN
    failing: bool = False
    failures_in_row: int = 0
    successes_in_row: int = 0
    recent: str = ""  # outcome codes, oldest first: o ok, w warn, f fail

    @property
    def pending(self) -> bool:
        """A failure has been seen but not yet confirmed."""
        return self.failures_in_row > 0 and not self.failing


def advance(state: FlapState, outcome: Outcome, policy: FlapPolicy) -> FlapState:
    """The state after one more run with `outcome`."""
    failed = outcome is Outcome.FAIL
    after = replace(
        state,
        recent=(state.recent + CODES[outcome])[-policy.kept :],
        failures_in_row=state.failures_in_row + 1 if failed else 0,
        successes_in_row=0 if failed else state.successes_in_row + 1,
    )
    confirmed = _confirmed_failing(after, policy)
    if not state.failing:
        failing = confirmed
    else:
        failing = not (after.successes_in_row >= policy.recover and not confirmed)
    return replace(after, failing=failing, status=_status(state, after, failing, outcome, policy))


def _confirmed_failing(state: FlapState, policy: FlapPolicy) -> bool:
    if policy.window is not None:
        failures, of = policy.window
        return state.recent[-of:].count("f") >= failures
    return state.failures_in_row >= policy.retries + 1


def _status(
    before: FlapState, after: FlapState, failing: bool, outcome: Outcome, policy: FlapPolicy
) -> Status:
    if failing:
        return status_of(Outcome.FAIL, policy.critical)
    if outcome is Outcome.FAIL:
        return before.status  # not confirmed yet: unchanged (unknown on a first run)
    if before.failing and outcome is Outcome.OK:
        return Status.HEALTHY
    return status_of(outcome, policy.critical)
