"""The evaluation worker: every rule on an interval, and at the moment an alert's `for` ends.

One node evaluates at a time: the node that leads the cluster (the `leader` lease); the
transaction that records a cycle checks `holds()` first (which keeps the lease from moving
until it commits), so a node paused past its lease writes nothing. A cycle reads every
metric the rules need in one snapshot, evaluates all rules in memory, and records the outcome
and the outbox rows in one transaction. Between interval ticks the worker wakes exactly when a
pending alert's `for` or a firing alert's `keep_firing_for` ends, or a group's message is due,
and evaluates the rules again, so an alert fires when its `for` ends, not at the next tick.
An acknowledgement or a silence made through any node is announced (`alerts`) and starts a
cycle at once on the leader, so it takes effect within a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from opsbook.alerts.language import ConditionError, Outcome, evaluate
from opsbook.alerts.notifier import Enqueue, outbox_enqueue
from opsbook.alerts.rules import Rule, load_rules
from opsbook.alerts.service import CycleReport, record_cycle
from opsbook.alerts.source import StoreReader
from opsbook.alerts.windows import Window
from opsbook.clock import Clock
from opsbook.cluster.leadership import LEADER_LEASE, Leadership
from opsbook.runtime import Runtime, Worker
from opsbook.storage import Database
from opsbook.storage.wakeup import Wakeup

log = logging.getLogger(__name__)

LEASE = LEADER_LEASE
TOPIC = "alerts"


@dataclass
class Evaluator:
    """Runs one evaluation cycle over the store."""

    db: Database
    clock: Clock
    rules: list[Rule]
    node_id: str
    windows: list[Window] = field(default_factory=list)
    enqueue: Enqueue | None = None
    interval: float = 15.0
    lookback: float = 300.0
    reader: StoreReader = field(default_factory=StoreReader)
    errors: dict[str, str] = field(default_factory=dict)  # rule -> its last evaluation error
    leadership: Leadership | None = None  # the runtime's; without one, the evaluator's own

    def __post_init__(self) -> None:
        if self.leadership is None:
            self.leadership = Leadership(self.node_id, self.lease_ttl)

    @property
    def lease_ttl(self) -> float:
        return max(3 * self.interval, 30.0)

    def cycle(self, only: set[str] | None = None) -> CycleReport | None:
        """Evaluate the rules (all, or those in `only`); None when another node leads."""
        leadership = self.leadership
        assert leadership is not None
        with self.db.write() as session:
            lease = leadership.acquire(session, self.clock.now())
        if lease is None:
            return None
        rules = [r for r in self.rules if only is None or r.name in only]
        outcomes = self.evaluate(rules)
        with self.db.write() as session:
            if not leadership.holds(session, self.clock):
                log.warning("lost the %s lease before recording; another node evaluates", LEASE)
                return None
            return record_cycle(
                session,
                self.clock,
                self.rules,
                outcomes,
                windows=self.windows,
                enqueue=self.enqueue,
            )

    def evaluate(self, rules: list[Rule]) -> dict[str, Outcome]:
        now = self.clock.now()
        windows: dict[str, float] = {}
        for rule in rules:
            for name, window in rule.compiled.windows.items():
                windows[name] = max(windows.get(name, 0.0), window)
        with self.db.read() as session:
            source = self.reader.snapshot(
                session, windows, now, self.lookback, self.clock.monotonic()
            )
        at = now.timestamp()
        outcomes: dict[str, Outcome] = {}
        shared: dict[str, Any] = {}  # named metrics, computed once for every rule
        for rule in rules:
            try:
                outcomes[rule.name] = evaluate(
                    rule.compiled.node,
                    source,
                    at,
                    prometheus_matching=rule.compiled.prometheus_matching,
                    lookback=self.lookback,
                    shared=shared,
                )
            except ConditionError as exc:  # the rule keeps its alerts as they are
                if self.errors.get(rule.name) != str(exc):
                    log.error("rule %s (%s) cannot be evaluated: %s", rule.name, rule.source, exc)
                self.errors[rule.name] = str(exc)
                continue
            self.errors.pop(rule.name, None)
        return outcomes


class AlertsWorker:
    name = "alerts"

    def __init__(self, evaluator: Evaluator, wakeup: Wakeup | None = None) -> None:
        self.evaluator = evaluator
        self.wakeup = wakeup

    async def run(self, stop: asyncio.Event) -> None:
        clock = self.evaluator.clock
        next_tick = clock.now()
        last: CycleReport | None = None
        seen = self.wakeup.mark(TOPIC) if self.wakeup else {}
        while not stop.is_set():
            now = clock.now()
            if self.wakeup is not None and self.wakeup.mark(TOPIC) != seen:
                seen = self.wakeup.mark(TOPIC)
                next_tick = now  # an ack or a silence: a full cycle now
            if now >= next_tick:
                next_tick = now + timedelta(seconds=self.evaluator.interval)
                last = await asyncio.to_thread(self.evaluator.cycle, None)
            elif last is not None and last.next_due is not None and now >= last.next_due:
                # A `for` or `keep_firing_for` ends, or a group's message is due: evaluate the
                # rules concerned now (group messages are sent by every cycle).
                last = await asyncio.to_thread(self.evaluator.cycle, last.rules_due(now))
            due = last.next_due if last is not None else None
            wake = min(next_tick, due) if due is not None else next_tick
            await _wait(stop, clock, (wake - clock.now()).total_seconds(), self.wakeup, seen)


async def _wait(
    stop: asyncio.Event,
    clock: Clock,
    seconds: float,
    wakeup: Wakeup | None = None,
    seen: Mapping[str, int] | None = None,
) -> None:
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    waiters: set[asyncio.Future[object]] = {
        asyncio.ensure_future(clock.sleep(seconds)),
        asyncio.ensure_future(stop.wait()),
    }
    if wakeup is not None and seen:
        waiters.add(asyncio.ensure_future(wakeup.idle(None, seen, seconds)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiters:
            task.cancel()


def worker_factory(runtime: Runtime) -> Worker | None:
    """The evaluation worker for `opsbook watch` / `serve`; None when no rules are configured."""
    rules = load_rules(runtime.config)
    if not rules:
        return None
    settings = runtime.config.settings
    evaluator = Evaluator(
        db=runtime.db,
        clock=runtime.clock,
        rules=rules,
        node_id=runtime.node_id,
        windows=[Window.from_config(w) for w in settings.maintenance],
        enqueue=outbox_enqueue(),
        interval=settings.alerting.interval,
        lookback=settings.alerting.lookback,
        # Batched metric writes land up to a few flushes late; read that far back each cycle.
        reader=StoreReader(late_margin=max(5.0, 3 * settings.metrics.flush_interval)),
        leadership=runtime.leadership,
    )
    return AlertsWorker(evaluator, runtime.wakeup)
