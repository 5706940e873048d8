from __future__ import annotations

import pytest

from opsbook.checks.flap import FlapPolicy, FlapState, advance
from opsbook.checks.model import Outcome, Status
from opsbook.checks.rollup import rollup

OK, WARN, FAIL = Outcome.OK, Outcome.WARN, Outcome.FAIL


def _run(policy: FlapPolicy, outcomes: list[Outcome]) -> list[Status]:
    state, seen = FlapState(), []
    for outcome in outcomes:
        state = advance(state, outcome, policy)
        seen.append(state.status)
    return seen


def test_without_flap_control_the_first_failure_counts() -> None:
    H, U = Status.HEALTHY, Status.UNHEALTHY
    assert _run(FlapPolicy(), [OK, FAIL, OK]) == [H, U, H]


def test_retries_tolerate_failures_in_a_row() -> None:
    H, U = Status.HEALTHY, Status.UNHEALTHY
    assert _run(FlapPolicy(retries=2), [OK, FAIL, FAIL, OK, FAIL, FAIL, FAIL]) == [
        H,
        H,
        H,
        H,
        H,
        H,
        U,
    ]


def test_an_unconfirmed_failure_is_pending_and_leaves_a_new_check_unknown() -> None:
    state = advance(FlapState(), FAIL, FlapPolicy(retries=1))
    assert (state.status, state.pending) == (Status.UNKNOWN, True)


def test_m_of_n_counts_failures_that_are_not_in_a_row() -> None:
    H, U = Status.HEALTHY, Status.UNHEALTHY
    statuses = _run(FlapPolicy(window=(3, 5)), [OK, FAIL, OK, FAIL, OK, FAIL, OK, OK, OK])
    assert statuses == [H, H, H, H, H, U, H, H, H]


def test_recovery_needs_the_configured_good_runs_in_a_row() -> None:
    H, U = Status.HEALTHY, Status.UNHEALTHY
    assert _run(FlapPolicy(recover=2), [FAIL, OK, FAIL, OK, OK]) == [U, U, U, U, H]


def test_a_non_critical_failure_is_degraded_and_a_warning_too() -> None:
    D, H = Status.DEGRADED, Status.HEALTHY
    assert _run(FlapPolicy(critical=False), [FAIL, OK, WARN, OK]) == [D, H, D, H]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.HEALTHY, Status.HEALTHY], Status.HEALTHY),
        ([Status.HEALTHY, Status.DEGRADED], Status.DEGRADED),
        ([Status.DEGRADED, Status.UNHEALTHY], Status.UNHEALTHY),
        ([Status.HEALTHY, Status.UNKNOWN], Status.DEGRADED),
        ([], Status.HEALTHY),
    ],
)
def test_the_rollup_follows_the_critical_flag(statuses: list[Status], expected: Status) -> None:
    assert rollup(statuses) is expected
