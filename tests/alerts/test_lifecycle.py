from __future__ import annotations

from datetime import datetime, timedelta

from opsbook.alerts.lifecycle import AlertState, State, step
from opsbook.clock import FakeClock


def evaluate(
    clock: FakeClock,
    state: AlertState | None,
    matched: bool,
    *,
    hold: float = 300,
    keep: float = 0,
    value: float = 1.0,
) -> tuple[AlertState | None, str]:
    new, transition = step(
        state, matched=matched, value=value, now=clock.now(), hold=hold, keep_firing_for=keep
    )
    moved = f"{transition.from_state}->{transition.to_state}" if transition else ""
    return new, moved


def test_an_alert_fires_once_the_condition_held_for_exactly_for(clock: FakeClock) -> None:
    state, moved = evaluate(clock, None, True)
    assert (state and state.state, moved) == (State.PENDING, "inactive->pending")
    clock.advance(299)
    state, moved = evaluate(clock, state, True)
    assert state is not None and state.state is State.PENDING and moved == ""
    clock.advance(1)
    state, moved = evaluate(clock, state, True)
    assert state is not None and state.state is State.FIRING and moved == "pending->firing"
    assert state.fired_at == clock.now()


def test_a_zero_for_fires_at_the_first_match(clock: FakeClock) -> None:
    state, moved = evaluate(clock, None, True, hold=0)
    assert state is not None and state.state is State.FIRING and moved == "inactive->firing"


def test_a_pending_alert_that_misses_once_starts_over(clock: FakeClock) -> None:
    state, _ = evaluate(clock, None, True)
    clock.advance(200)
    state, moved = evaluate(clock, state, False, value=0.2)
    assert state is None and moved == "pending->inactive"
    clock.advance(100)
    state, _ = evaluate(clock, state, True)
    assert state is not None and state.active_at == clock.now()


def test_a_firing_alert_resolves_at_the_first_miss_without_keep_firing_for(
    clock: FakeClock,
) -> None:
    state, _ = evaluate(clock, None, True, hold=0)
    clock.advance(60)
    state, moved = evaluate(clock, state, False, hold=0, value=0.01)
    assert state is not None and state.state is State.RESOLVED and moved == "firing->resolved"
    assert state.value == 0.01 and state.resolved_at == clock.now()


def test_keep_firing_for_holds_a_firing_alert_after_it_stops_matching(clock: FakeClock) -> None:
    state, _ = evaluate(clock, None, True, hold=0, keep=120)
    clock.advance(60)
    state, moved = evaluate(clock, state, False, hold=0, keep=120)
    assert state is not None and state.state is State.FIRING and moved == ""
    assert state.keep_firing_since == clock.now()
    clock.advance(119)
    state, moved = evaluate(clock, state, False, hold=0, keep=120)
    assert state is not None and state.state is State.FIRING
    clock.advance(1)
    state, moved = evaluate(clock, state, False, hold=0, keep=120)
    assert state is not None and state.state is State.RESOLVED and moved == "firing->resolved"


def test_a_match_resets_the_keep_firing_clock(clock: FakeClock) -> None:
    state, _ = evaluate(clock, None, True, hold=0, keep=120)
    clock.advance(60)
    state, _ = evaluate(clock, state, False, hold=0, keep=120)
    clock.advance(100)
    state, _ = evaluate(clock, state, True, hold=0, keep=120)
    assert state is not None and state.keep_firing_since is None
    clock.advance(10)
    state, _ = evaluate(clock, state, False, hold=0, keep=120)
    clock.advance(110)
    state, _ = evaluate(clock, state, False, hold=0, keep=120)
    assert state is not None and state.state is State.FIRING


def test_a_flapping_condition_never_fires_while_it_misses_within_for(clock: FakeClock) -> None:
    state: AlertState | None = None
    fired = False
    for minute in range(30):
        state, _ = evaluate(clock, state, matched=minute % 4 != 3)
        fired = fired or (state is not None and state.state is State.FIRING)
        clock.advance(60)
    assert not fired


def test_a_resolved_alert_that_matches_again_is_a_new_alert(clock: FakeClock) -> None:
    state, _ = evaluate(clock, None, True, hold=0)
    clock.advance(60)
    state, _ = evaluate(clock, state, False, hold=0)
    clock.advance(60)
    again, moved = evaluate(clock, state, True, hold=60)
    assert again is not None and again.state is State.PENDING and moved == "inactive->pending"
    assert again.active_at == clock.now() and again.fired_at is None


def test_time_is_measured_from_active_at_not_from_evaluations() -> None:
    start = datetime(2026, 1, 5, 12, 0, tzinfo=datetime.now().astimezone().tzinfo)
    state = AlertState(State.PENDING, active_at=start)
    new, _ = step(state, matched=True, value=1.0, now=start + timedelta(seconds=300), hold=300)
    assert new is not None and new.state is State.FIRING
