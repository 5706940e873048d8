"""Prune applies retention to a generated history of backups in the catalogue and on disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from opsbook.backups import service
from opsbook.backups.context import BackupContext
from opsbook.backups.prune import prune
from opsbook.backups.tables import Backup
from tests.backups.conftest import MakeContext

NEWEST = datetime(2026, 3, 31, 12, tzinfo=UTC)  # a Tuesday
POLICY = {"keep_last": 2, "keep_daily": 3, "keep_weekly": 2, "keep_monthly": 2}


def utc(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def generate_history(ctx: BackupContext, folder: Path) -> dict[datetime, int]:
    """A good backup every 12 hours for 70 days up to NEWEST, each with its file, then a failed
    attempt after it that left a partial file; returns {finished_at: id} of the good ones."""
    ids: dict[datetime, int] = {}
    (folder / "app").mkdir(parents=True)
    with ctx.db.write() as session:
        for index in range(140):
            finished = NEWEST - timedelta(hours=12 * (139 - index))
            ids[finished] = add_backup(session, folder, finished, status="ok").id
        add_backup(session, folder, NEWEST + timedelta(hours=12), status="failed")
    return ids


def add_backup(session: Session, folder: Path, finished: datetime, *, status: str) -> Backup:
    key = f"app/app-{finished:%Y%m%dT%H%M%SZ}.sqlite3"
    (folder / key).write_bytes(b"backup")
    backup = Backup(
        target="app",
        type="sqlite",
        status=status,
        started_at=finished - timedelta(minutes=1),
        finished_at=finished,
        size_bytes=6,
        sha256="0" * 64,
        key=key,
        location=str(folder / key),
        tool_versions={},
        counts={},
        error="" if status == "ok" else "disk full",
        verified=status == "ok",
        verify_error="",
        node_id="test",
        actor="test",
    )
    session.add(backup)
    session.flush()
    return backup


def remaining(folder: Path) -> set[str]:
    return {path.name for path in (folder / "app").iterdir()}


def test_prune_keeps_what_the_policy_says_on_a_generated_history(
    make_ctx: MakeContext, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    target = {"name": "app", "type": "sqlite", "path": "app.db", "destination": "backups"}
    ctx = make_ctx({**target, "retention": POLICY})
    ids = generate_history(ctx, folder)
    expected = {
        utc(3, 31),
        utc(3, 31, 0),  # keep_last 2
        utc(3, 30),
        utc(3, 29),  # keep_daily 3: 31, 30, 29
        # keep_weekly 2: this ISO week (31), the week before (Sunday the 29th)
        utc(2, 28),  # keep_monthly 2: March (31), February
    }

    planned = prune(ctx, "app", dry_run=True)
    assert len(planned) == 141 and len(remaining(folder)) == 141  # a dry run deletes nothing
    assert {d.backup_id for d in planned if d.keep} == {ids[at] for at in expected}

    prune(ctx, "app")
    assert remaining(folder) == {f"app-{at:%Y%m%dT%H%M%SZ}.sqlite3" for at in expected}
    with ctx.db.read() as session:
        left = service.listing(session, "app")
        everything = service.listing(session, "app", include_pruned=True)
    assert {b.finished_at for b in left} == expected
    assert len(everything) == 141  # pruned backups keep their row, with pruned_at set
    assert all(b.pruned_at is not None for b in everything if b.finished_at not in expected)
