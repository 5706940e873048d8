"""Check schedules and states in the store: sync from config, claim due runs, apply results.

Claiming is how several nodes share checks without running one twice: `claim_due` selects due
rows `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's single writer serialises it), moves each
row's `next_due_at` on by one interval and stamps it with the node and a new `claim_seq`, all in
the caller's transaction. A result is applied only while its `claim_seq` is still current.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from opsbook.checks.flap import FlapPolicy, FlapState, advance
from opsbook.checks.model import STATUS_VALUES, CheckResult, Status
from opsbook.checks.placement import labels_for
from opsbook.checks.tables import CheckFlip, CheckGap, CheckState
from opsbook.config.checks import CheckConfig
from opsbook.metrics.model import Sample
from opsbook.metrics.store import SeriesCache, dialect_insert, write_samples

CLAIM_GRACE_SECONDS = 30.0  # a claim outlives its run's timeout by this much
_NOT_HASHED = {"description", "group", "labels", "runbook", "run_on"}
_NOT_UPDATED = {
    "name",
    "type",
    "active",
    "spec_hash",
    "interval_seconds",
    "timeout_seconds",
    "claim_seq",
    "host",
}


@dataclass(frozen=True, slots=True)
class Claim:
    """One run of one check, claimed by this node; `due` is when it should start."""

    name: str
    due: datetime
    seq: int
    cursor: dict[str, Any] | None = None
    node: str = ""


def spec_hash(spec: CheckConfig) -> str:
    text = spec.model_dump_json(exclude=_NOT_HASHED)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def spread(name: str, interval: float) -> float:
    """A stable offset in [0, interval) per check, so checks do not all start together."""
    digest = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    return (digest % 1_000_000) / 1_000_000 * interval


def sync_checks(
    session: Session,
    specs: Sequence[CheckConfig],
    now: datetime,
    *,
    hosts: Mapping[str, str | None] | None = None,
    keep: Callable[[str], bool] | None = None,
) -> None:
    """Make the rows match the configured checks: new ones added, changed ones updated,
    removed or disabled ones made inactive (their history stays).

    `hosts` binds rows to a machine (`checks.placement`); rows for which `keep(name)` is true
    belong to another machine's node and are left as they are.
    """
    hosts = hosts or {}
    rows = {row.name: row for row in session.scalars(select(CheckState))}
    wanted = {spec.name: spec for spec in specs}
    fresh = [
        {**_new_row(spec, now), "host": hosts.get(name)}
        for name, spec in wanted.items()
        if name not in rows
    ]
    if fresh:
        insert = dialect_insert(session, CheckState.__table__)  # type: ignore[arg-type]
        session.execute(insert.on_conflict_do_nothing(index_elements=["name"]), fresh)
    for name, row in rows.items():
        spec = wanted.get(name)
        if spec is not None:
            _update_row(row, spec, now)
            row.host = hosts.get(name)
        elif keep is None or not keep(name):
            row.active, row.claimed_by, row.claimed_until = False, None, None
    session.flush()


def _new_row(spec: CheckConfig, now: datetime) -> dict[str, Any]:
    return {
        "name": spec.name,
        "type": spec.type,
        "active": True,
        "spec_hash": spec_hash(spec),
        "interval_seconds": spec.interval,
        "timeout_seconds": spec.timeout,
        "next_due_at": now + timedelta(seconds=spread(spec.name, spec.interval)),
        "claim_seq": 0,
        "status": Status.UNKNOWN.value,
        "failing": False,
        "failures_in_row": 0,
        "successes_in_row": 0,
        "recent": "",
    }


def _update_row(row: CheckState, spec: CheckConfig, now: datetime) -> None:
    row.active = True
    digest = spec_hash(spec)
    if row.spec_hash == digest:
        return
    row.spec_hash, row.type = digest, spec.type
    row.interval_seconds, row.timeout_seconds = spec.interval, spec.timeout
    row.failures_in_row, row.successes_in_row, row.recent = 0, 0, ""
    row.cursor = None
    latest = now + timedelta(seconds=spread(spec.name, spec.interval))
    row.next_due_at = min(row.next_due_at, latest)


def claim_due(
    session: Session,
    node: str,
    now: datetime,
    *,
    horizon: float = 0.0,
    limit: int = 500,
    host: str | None = None,
    dead: Sequence[str] = (),
) -> list[Claim]:
    """Claim up to `limit` checks due by `now + horizon` for `node`.

    Rows bound to a machine are claimed only by a node on it (`host`). A claim is free again when
    it expired, or at once when the node holding it is `dead` (its heartbeat lapsed), so a dead
    node's checks move to the others within its lease.

    A check more than one interval overdue (opsbook was stopped, or fell behind) is not run in a
    burst: the unobserved span is recorded as a gap and the check rescheduled within one interval.
    """
    free = [CheckState.claimed_until.is_(None), CheckState.claimed_until < now]
    if dead:
        free.append(CheckState.claimed_by.in_(list(dead)))
    query = select(CheckState).where(
        CheckState.active.is_(True),
        CheckState.next_due_at <= now + timedelta(seconds=horizon),
        or_(*free),
    )
    if host is not None:
        query = query.where(or_(CheckState.host.is_(None), CheckState.host == host))
    rows = session.scalars(
        query.order_by(CheckState.next_due_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    claims = []
    for row in rows:
        interval = timedelta(seconds=row.interval_seconds)
        if row.next_due_at < now - interval:
            _record_gap(session, row, now)
            row.next_due_at = now + timedelta(seconds=spread(row.name, row.interval_seconds))
            continue
        due = row.next_due_at
        row.next_due_at = due + interval
        row.claimed_by = node
        row.claimed_until = due + timedelta(seconds=row.timeout_seconds + CLAIM_GRACE_SECONDS)
        row.claim_seq += 1
        claims.append(Claim(row.name, due, row.claim_seq, row.cursor, node))
    session.flush()
    return claims


def _record_gap(session: Session, row: CheckState, now: datetime) -> None:
    if row.last_run_at is None:
        return  # never observed: nothing was missed yet
    start = row.last_run_at + timedelta(seconds=row.interval_seconds)
    if start < now:
        session.add(CheckGap(check=row.name, start=start, end=now))


def release(
    session: Session, claims: Sequence[Claim], now: datetime | None = None, hold_off: float = 0.0
) -> None:
    """Give back claims that will not run here: due again at their time.

    With `hold_off`, this node leaves them alone for that many seconds (a check its config does
    not know, so the nodes that know it get it); without, anyone may claim them at once.
    """
    until = now + timedelta(seconds=hold_off) if now is not None and hold_off else None
    for claim in claims:
        session.execute(
            update(CheckState)
            .where(CheckState.name == claim.name, CheckState.claim_seq == claim.seq)
            .values(claimed_by=None, claimed_until=until, next_due_at=claim.due)
        )


_FLAP_COLUMNS = (
    CheckState.name,
    CheckState.claim_seq,
    CheckState.status,
    CheckState.failing,
    CheckState.failures_in_row,
    CheckState.successes_in_row,
    CheckState.recent,
    CheckState.next_due_at,
    CheckState.status_since,
    CheckState.cursor,
    CheckState.last_node,
)
_STATE: Table = CheckState.__table__  # type: ignore[assignment]
_UPDATE_STATE = (
    update(_STATE)
    .where(_STATE.c.name == bindparam("b_name"))
    .values({col.name: bindparam(col.name) for col in _STATE.c if col.name not in _NOT_UPDATED})
)


def apply_results(
    session: Session,
    batch: Sequence[tuple[Claim, CheckResult]],
    specs: Mapping[str, CheckConfig],
    *,
    cache: SeriesCache | None = None,
) -> list[CheckFlip]:
    """Fold each result into its check's flap state; returns the status changes recorded.

    A result whose claim is no longer current (the claim expired and the check was claimed
    again) is not applied: its samples are still true, its state is not. Rows are read and
    written in bulk (one SELECT, one executemany UPDATE), since this runs for every result.
    """
    names = sorted({claim.name for claim, _ in batch})
    rows = {
        row.name: row._asdict()
        for row in session.execute(
            select(*_FLAP_COLUMNS).where(CheckState.name.in_(names)).with_for_update()
        )
    }
    updates: list[dict[str, Any]] = []
    flips: list[CheckFlip] = []
    samples: list[Sample] = []
    for claim, result in batch:
        row, spec = rows.get(claim.name), specs.get(claim.name)
        if row is None or spec is None or row["claim_seq"] != claim.seq:
            continue
        values, flip = _applied(row, spec, result)
        values["last_node"] = claim.node or row["last_node"]
        row.update(values)
        updates.append(values)
        if flip is not None:
            flips.append(flip)
        value = STATUS_VALUES.get(Status(values["status"]))
        if value is not None:
            samples.append(Sample("check_status", labels_for(claim.name), value, result.at))
    if updates:
        session.execute(_UPDATE_STATE, updates)
    session.add_all(flips)
    write_samples(session, samples, cache=cache)
    session.flush()
    return flips


def _applied(
    row: dict[str, Any], spec: CheckConfig, result: CheckResult
) -> tuple[dict[str, Any], CheckFlip | None]:
    """The column values after `result`, and the flip when the status changed."""
    before = FlapState(
        Status(row["status"]),
        row["failing"],
        row["failures_in_row"],
        row["successes_in_row"],
        row["recent"],
    )
    after = advance(before, result.outcome, FlapPolicy.of(spec))
    values: dict[str, Any] = {
        "b_name": row["name"],
        "status": after.status.value,
        "failing": after.failing,
        "failures_in_row": after.failures_in_row,
        "successes_in_row": after.successes_in_row,
        "recent": after.recent,
        "outcome": result.outcome.value,
        "last_run_at": result.at,
        "last_error": result.error,
        "last_latency_seconds": result.latency,
        "claimed_by": None,
        "claimed_until": None,
        "cursor": result.cursor if result.cursor is not None else row["cursor"],
        "next_due_at": row["next_due_at"],
        "status_since": row["status_since"],
    }
    if after.pending and spec.retry_interval is not None:
        soon = result.at + timedelta(seconds=spec.retry_interval)
        values["next_due_at"] = min(row["next_due_at"], soon)
    if after.status is before.status:
        return values, None
    values["status_since"] = result.at
    flip = CheckFlip(
        check=row["name"],
        at=result.at,
        from_status=before.status.value,
        to_status=after.status.value,
        error=result.error,
    )
    return values, flip
