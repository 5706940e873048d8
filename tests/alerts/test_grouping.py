from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opsbook.alerts.grouping import Kind, Member, Progress, Timing, plan
from opsbook.alerts.lifecycle import State
from opsbook.clock import FakeClock

TIMING = Timing(group_wait=30, group_interval=300, repeat_interval=3600)


def firing(id: int, clock: FakeClock, **kw: bool) -> Member:
    return Member(id, State.FIRING, clock.now(), **{"suppressed": False, "notified": False, **kw})


def test_the_first_message_waits_for_group_wait_and_lists_every_new_alert(
    clock: FakeClock,
) -> None:
    members = [firing(1, clock), firing(2, clock)]
    early = plan(members, Progress(), TIMING, clock.now() + timedelta(seconds=29))
    assert early.kind is None and early.due_at == clock.now() + timedelta(seconds=30)
    sent = plan(members, Progress(), TIMING, clock.now() + timedelta(seconds=30))
    assert sent.kind is Kind.TRIGGER and sent.firing == (1, 2)
    assert sent.progress.episode == 1 and sent.progress.active


def test_a_new_alert_in_an_announced_group_waits_for_group_interval(clock: FakeClock) -> None:
    progress = Progress(episode=1, active=True, last_flush_at=clock.now(), last_sent_at=clock.now())
    members = [firing(1, clock, notified=True), firing(2, clock)]
    assert plan(members, progress, TIMING, clock.advance(299)).kind is None
    update = plan(members, progress, TIMING, clock.advance(1))
    assert update.kind is Kind.UPDATE and update.firing == (1, 2)


def test_nothing_changed_means_a_reminder_after_repeat_interval(clock: FakeClock) -> None:
    start = clock.now()
    progress = Progress(episode=1, active=True, last_flush_at=start, last_sent_at=start)
    members = [firing(1, clock, notified=True)]
    assert plan(members, progress, TIMING, clock.advance(3599)).kind is None
    assert plan(members, progress, TIMING, clock.advance(1)).kind is Kind.REMINDER


def test_an_acknowledged_or_silenced_alert_gets_no_reminders(clock: FakeClock) -> None:
    progress = Progress(episode=1, active=True, last_flush_at=clock.now(), last_sent_at=clock.now())
    clock.advance(7200)
    assert (
        plan([firing(1, clock, notified=True, acked=True)], progress, TIMING, clock.now()).kind
        is None
    )
    silenced = firing(1, clock, notified=True, suppressed=True)
    assert plan([silenced], progress, TIMING, clock.now()).kind is None


def test_the_last_resolve_ends_the_episode_with_one_message(clock: FakeClock) -> None:
    progress = Progress(episode=1, active=True, last_flush_at=clock.now(), last_sent_at=clock.now())
    resolved = Member(1, State.RESOLVED, clock.now(), suppressed=False, notified=True)
    result = plan([resolved], progress, TIMING, clock.advance(300))
    assert result.kind is Kind.RESOLVE and result.resolved == (1,)
    assert not result.progress.active
    done = Member(1, State.RESOLVED, None, suppressed=False, notified=True, resolve_notified=True)
    assert plan([done], result.progress, TIMING, clock.advance(3600)).kind is None


def test_a_resolve_is_sent_even_when_a_silence_began_after_the_firing_message(
    clock: FakeClock,
) -> None:
    progress = Progress(episode=1, active=True, last_flush_at=clock.now(), last_sent_at=clock.now())
    resolved = Member(1, State.RESOLVED, clock.now(), suppressed=True, notified=True)
    assert plan([resolved], progress, TIMING, clock.advance(300)).kind is Kind.RESOLVE


def test_an_alert_that_fires_and_resolves_while_silenced_is_never_sent(clock: FakeClock) -> None:
    member = firing(1, clock, suppressed=True)
    assert plan([member], Progress(), TIMING, clock.advance(60)).kind is None
    resolved = Member(1, State.RESOLVED, None, suppressed=True, notified=False)
    assert plan([resolved], Progress(), TIMING, clock.advance(60)).kind is None


def test_an_alert_still_firing_when_its_window_ends_is_announced_then(clock: FakeClock) -> None:
    hidden = firing(1, clock, suppressed=True)
    assert plan([hidden], Progress(), TIMING, clock.advance(600)).kind is None
    visible = replace(hidden, suppressed=False)
    assert plan([visible], Progress(), TIMING, clock.now()).kind is Kind.TRIGGER


def test_a_group_that_resolves_and_fires_again_starts_a_new_episode(clock: FakeClock) -> None:
    ended = Progress(episode=1, active=False, last_flush_at=clock.now())
    result = plan([firing(2, clock)], ended, TIMING, clock.advance(30))
    assert result.kind is Kind.TRIGGER and result.progress.episode == 2
