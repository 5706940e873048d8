"""Recording what the rules saw and sending what it calls for, in the caller's transaction.

`record_cycle` takes the outcome of every evaluated rule, moves each alert through its lifecycle
(one row per alert, one row per transition with the value that caused it), marks which alerts a
silence or maintenance window covers, and hands each notification group's message to the outbox.
It flushes and never commits: the evaluation worker commits it all at once, after checking that
it still holds the rule-evaluation lease, so a paused node cannot write twice.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.alerts import silences
from opsbook.alerts.grouping import Member, Progress, plan
from opsbook.alerts.language import Outcome
from opsbook.alerts.lifecycle import AlertState, State, Transition, next_deadline, step
from opsbook.alerts.messages import Message, build_message
from opsbook.alerts.notifier import Enqueue
from opsbook.alerts.rules import Rule, fingerprint
from opsbook.alerts.tables import AlertGroupRow, AlertRow, AlertTransitionRow
from opsbook.alerts.windows import Window, open_windows
from opsbook.clock import Clock
from opsbook.storage.wakeup import announce

TRANSITIONS = "alert-transitions"
"""Announced when a cycle records alert transitions."""


@dataclass
class CycleReport:
    transitions: list[AlertTransitionRow] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    next_due: datetime | None = None
    rule_deadlines: dict[str, datetime] = field(default_factory=dict)  # `for` / keep firing ends

    def rules_due(self, now: datetime) -> set[str]:
        return {name for name, when in self.rule_deadlines.items() if when <= now}

    def due(self, when: datetime | None) -> None:
        if when is not None and (self.next_due is None or when < self.next_due):
            self.next_due = when


def record_cycle(
    session: Session,
    clock: Clock,
    rules: Sequence[Rule],
    outcomes: Mapping[str, Outcome],
    *,
    windows: Sequence[Window] = (),
    enqueue: Enqueue | None = None,
) -> CycleReport:
    """Apply the outcomes of the rules in `outcomes` (rules not in it were not evaluated)."""
    cycle = _Cycle(session, clock, {rule.name: rule for rule in rules}, windows, enqueue)
    return cycle.run(outcomes)


class _Cycle:
    def __init__(
        self,
        session: Session,
        clock: Clock,
        rules: dict[str, Rule],
        windows: Sequence[Window],
        enqueue: Enqueue | None,
    ) -> None:
        self.session, self.clock, self.rules = session, clock, rules
        self.windows, self.enqueue = list(windows), enqueue
        self.now = clock.now()
        self.report = CycleReport()
        self.outgoing: list[tuple[Rule, Message]] = []

    def live_rows(self) -> list[AlertRow]:
        return list(self.session.scalars(select(AlertRow).where(AlertRow.live)))

    def run(self, outcomes: Mapping[str, Outcome]) -> CycleReport:
        open_rows: dict[str, dict[str, AlertRow]] = defaultdict(dict)
        for row in self.live_rows():
            if row.state in (State.PENDING, State.FIRING):
                open_rows[row.rule][row.fingerprint] = row
        for name, outcome in outcomes.items():
            self.apply_outcome(self.rules[name], outcome, open_rows.pop(name, {}))
        for name, rows in open_rows.items():
            if name not in self.rules:
                self.retire(rows.values())
        for row in self.live_rows():  # a resolve owed by a rule no longer configured
            if row.rule not in self.rules and row.state == State.RESOLVED.value:
                row.live = False
        self.session.flush()
        live = self.live_rows()
        self.mark_suppressed(live)
        self.notify(live)
        for row in live:
            rule = self.rules.get(row.rule)
            if rule is not None and row.live:
                deadline = next_deadline(_state_of(row), rule.hold, rule.keep_firing_for)
                if deadline is None or deadline <= self.now:  # not evaluated this cycle
                    continue
                self.report.due(deadline)
                known = self.report.rule_deadlines.get(rule.name)
                if deadline is not None and (known is None or deadline < known):
                    self.report.rule_deadlines[rule.name] = deadline
        self.session.flush()
        return self.report

    # -- lifecycle ----------------------------------------------------------------------------
    def apply_outcome(self, rule: Rule, outcome: Outcome, open_rows: dict[str, AlertRow]) -> None:
        for series, (value, matched) in outcome.series.items():
            if not matched and not open_rows:  # the common case: nothing to start or advance
                continue
            labels = rule.alert_labels(dict(series))
            key = fingerprint(labels)
            row = open_rows.pop(key, None)
            if row is None and not matched:
                continue
            self.advance(rule, row, labels, matched, value)
        for row in open_rows.values():  # series that vanished: no data is no match
            self.advance(rule, row, dict(row.labels), False, None)

    def advance(
        self,
        rule: Rule,
        row: AlertRow | None,
        labels: dict[str, str],
        matched: bool,
        value: float | None,
    ) -> None:
        current = _state_of(row) if row is not None else None
        new, transition = step(
            current,
            matched=matched,
            value=value,
            now=self.now,
            hold=rule.hold,
            keep_firing_for=rule.keep_firing_for,
        )
        if row is None:
            if new is None:
                return
            row = _new_row(rule, labels, new, self.now)
            self.session.add(row)
            self.session.flush()
        _store_state(row, new, self.now)
        if transition is not None:
            self.report.transitions.append(self.transition(row, transition))

    def transition(self, row: AlertRow, transition: Transition) -> AlertTransitionRow:
        entry = AlertTransitionRow(
            alert_id=row.id,
            rule=row.rule,
            labels=row.labels,
            from_state=transition.from_state.value,
            to_state=transition.to_state.value,
            value=transition.value,
            at=transition.at,
            suppressed_by=row.suppressed_by,
        )
        self.session.add(entry)
        return entry

    def retire(self, rows: Iterable[AlertRow]) -> None:
        """Alerts of a rule that is no longer configured resolve without a message."""
        for row in rows:
            before = State(row.state)
            row.state, row.resolved_at = State.RESOLVED.value, self.now
            row.open_key, row.live, row.last_eval_at = None, False, self.now
            self.report.transitions.append(
                self.transition(row, Transition(before, State.RESOLVED, self.now, None))
            )

    # -- silences and windows ------------------------------------------------------------------
    def mark_suppressed(self, live: list[AlertRow]) -> None:
        if not live:
            return
        silencer = silences.Matcher(silences.active(self.session, self.now))
        for row in live:
            labels = {k: str(v) for k, v in row.labels.items()}
            silence = silencer.silencing(labels)
            reason = f"silence {silence}" if silence is not None else None
            if reason is None:
                covering = open_windows(self.windows, labels, self.now)
                reason = f"window {covering[0].name}" if covering else None
            if row.suppressed_by != reason:
                row.suppressed_by = reason

    # -- notifications -------------------------------------------------------------------------
    def notify(self, live: list[AlertRow]) -> None:
        members: dict[str, list[AlertRow]] = defaultdict(list)
        for row in live:
            if row.rule in self.rules:
                members[row.group_key].append(row)
        if not members:
            return
        query = select(AlertGroupRow).where(AlertGroupRow.key.in_(members))
        groups = {g.key: g for g in self.session.scalars(query)}
        for key, rows in members.items():
            rule = self.rules[rows[0].rule]
            group = groups.get(key) or self.new_group(rule, rows[0], key)
            self.notify_group(rule, group, rows)
        self.session.flush()  # once, so queuing the messages flushes nothing more
        for rule, message in self.outgoing:
            self.send(rule, message)

    def new_group(self, rule: Rule, row: AlertRow, key: str) -> AlertGroupRow:
        labels = {k: str(v) for k, v in row.labels.items()}
        group = AlertGroupRow(
            key=key,
            rule=rule.name,
            labels=rule.group_labels(labels),
            episode=0,
            active=False,
            sequence=0,
        )
        self.session.add(group)
        self.session.flush()
        return group

    def notify_group(self, rule: Rule, group: AlertGroupRow, rows: list[AlertRow]) -> None:
        progress = Progress(
            group.episode, group.active, group.last_flush_at, group.last_sent_at, group.sequence
        )
        decision = plan([_member(row) for row in rows], progress, rule.timing, self.now)
        self.report.due(decision.due_at)
        if decision.kind is None:
            return
        by_id = {row.id: row for row in rows}
        firing = [by_id[i] for i in decision.firing]
        resolved = [by_id[i] for i in decision.resolved]
        after = decision.progress
        message = build_message(
            rule,
            decision.kind,
            group_id=group.id,
            episode=after.episode,
            sequence=after.sequence,
            firing=firing,
            resolved=resolved,
            now=self.now,
        )
        self.outgoing.append((rule, message))
        for row in firing:
            row.notified_at = row.notified_at or self.now
        for row in resolved:
            row.resolve_notified_at, row.live = self.now, False
        group.episode, group.active, group.sequence = after.episode, after.active, after.sequence
        group.last_flush_at, group.last_sent_at = after.last_flush_at, after.last_sent_at
        self.report.due(_next_flush(after, rule, self.now))

    def send(self, rule: Rule, message: Message) -> None:
        self.report.messages.append(message)
        if self.enqueue is None:
            return
        for channel in rule.channels:
            self.enqueue(
                self.session,
                self.clock,
                channel=channel,
                key=message.key,
                event=message.event,
                occurrence=message.occurrence,
                title=message.title,
                body=message.body,
                severity=message.severity,
                url=message.url,
                data=message.data,
            )


def _member(row: AlertRow) -> Member:
    return Member(
        row.id,
        State(row.state),
        row.fired_at,
        suppressed=row.suppressed_by is not None,
        notified=row.notified_at is not None,
        resolve_notified=row.resolve_notified_at is not None,
        acked=row.acked_at is not None,
    )


def _new_row(rule: Rule, labels: dict[str, str], state: AlertState, now: datetime) -> AlertRow:
    key = fingerprint(labels)
    return AlertRow(
        rule=rule.name,
        fingerprint=key,
        labels=labels,
        group_key=group_key(rule, labels),
        state=state.state.value,
        open_key=f"{rule.name}/{key}",
        live=True,
        active_at=state.active_at,
        last_eval_at=now,
        ack_comment="",
    )


def _store_state(row: AlertRow, state: AlertState | None, now: datetime) -> None:
    row.last_eval_at = now
    if state is None:  # a pending alert that missed: it never fired
        row.state, row.open_key, row.live = State.INACTIVE.value, None, False
        return
    row.state = state.state.value
    row.value = state.value
    row.active_at = state.active_at
    row.fired_at = state.fired_at
    row.keep_firing_since = state.keep_firing_since
    row.resolved_at = state.resolved_at
    if state.state is State.RESOLVED:
        row.open_key = None
        row.live = row.notified_at is not None and row.resolve_notified_at is None


def _state_of(row: AlertRow) -> AlertState:
    return AlertState(
        State(row.state),
        active_at=row.active_at,
        value=row.value,
        fired_at=row.fired_at,
        keep_firing_since=row.keep_firing_since,
        resolved_at=row.resolved_at,
    )


def _transition_row(session: Session, row: AlertRow, transition: Transition) -> AlertTransitionRow:
    entry = AlertTransitionRow(
        alert_id=row.id,
        rule=row.rule,
        labels=row.labels,
        from_state=transition.from_state.value,
        to_state=transition.to_state.value,
        value=transition.value,
        at=transition.at,
        suppressed_by=row.suppressed_by,
    )
    session.add(entry)
    announce(session, TRANSITIONS)  # incidents follow them: every node looks at once
    return entry


def group_key(rule: Rule, labels: dict[str, str]) -> str:
    text = json.dumps([rule.name, rule.group_labels(labels)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _next_flush(progress: Progress, rule: Rule, now: datetime) -> datetime | None:
    if not progress.active:
        return None
    return now + timedelta(seconds=rule.timing.group_interval)
