"""Coordination between opsbook processes through the store itself.

A `Lease` names one holder of a role ("rules", "escalation", "scheduler") until it expires. Every
new holder gets a larger fencing `token`; work done under a lease is checked against it inside the
same transaction (`holds`), so a process that was paused past its lease finds out before it acts.
On PostgreSQL rows of work are claimed with `FOR UPDATE SKIP LOCKED` (`select(...).with_for_update(
skip_locked=True)`); SQLite has one writer at a time, so there the same query is simply serialised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String, and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsbook.storage.base import Base


class LeaseRow(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger)
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    token: int  # fencing token: strictly larger for every new holder
    expires_at: datetime


def acquire(session: Session, name: str, holder: str, ttl: float, now: datetime) -> Lease | None:
    """Take or renew lease `name` for `holder` for `ttl` seconds; None when another holds it.

    Renewing keeps the token; taking over an expired lease increments it. Call inside a write
    transaction and commit before acting on the result.
    """
    expires = now + timedelta(seconds=ttl)
    current = session.get(LeaseRow, name, with_for_update=True, populate_existing=True)
    if current is None:
        try:
            with session.begin_nested():
                session.execute(
                    insert(LeaseRow).values(
                        name=name, holder=holder, token=1, acquired_at=now, expires_at=expires
                    )
                )
        except IntegrityError:
            return None  # another process created it first
        return Lease(name, holder, 1, expires)
    if current.holder == holder and current.expires_at > now:
        renewed = session.execute(
            update(LeaseRow)
            .where(
                LeaseRow.name == name, LeaseRow.holder == holder, LeaseRow.token == current.token
            )
            .values(expires_at=expires)
        )
        return Lease(name, holder, current.token, expires) if renewed.rowcount == 1 else None  # type: ignore[attr-defined]
    if current.expires_at > now:
        return None
    token = current.token + 1
    taken = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.token == current.token)
        .values(holder=holder, token=token, acquired_at=now, expires_at=expires)
    )
    return Lease(name, holder, token, expires) if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def holds(session: Session, lease: Lease, now: datetime) -> bool:
    """True when `lease` is still the current, unexpired holding (check before acting).

    The row is locked FOR SHARE until the transaction ends, so nobody can take the lease over
    between this check and the commit of the work it guards.
    """
    row = session.execute(
        select(LeaseRow.name)
        .where(
            and_(
                LeaseRow.name == lease.name,
                LeaseRow.holder == lease.holder,
                LeaseRow.token == lease.token,
                LeaseRow.expires_at > now,
            )
        )
        .with_for_update(read=True)
    ).first()
    return row is not None


def release(session: Session, lease: Lease, now: datetime) -> None:
    """Give the lease up early so another process can take it at once."""
    session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == lease.name, LeaseRow.token == lease.token)
        .values(expires_at=now)
    )


def current_holder(session: Session, name: str, now: datetime) -> Lease | None:
    row = session.get(LeaseRow, name)
    if row is None or row.expires_at <= now:
        return None
    return Lease(row.name, row.holder, row.token, row.expires_at)
