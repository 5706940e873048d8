from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opsbook.clock import FakeClock
from opsbook.errors import ConfigError
from opsbook.journal import service as journal
from opsbook.journal.tables import JournalEntry
from opsbook.secrets import Redactor
from opsbook.storage import Database, normalize_url
from opsbook.storage.migrate import current_revisions, head_revisions, pending_revisions, upgrade
from tests.services import scratch_postgres


def test_migrations_bring_sqlite_to_the_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/new/opsbook.db")
    assert pending_revisions(db)[:2] == ["0001_journal", "0002_leases"]
    applied = upgrade(db)
    assert applied[0] == "0001_journal"
    assert current_revisions(db) == head_revisions()
    assert pending_revisions(db) == []
    assert upgrade(db) == []
    db.dispose()


@pytest.mark.postgres
def test_migrations_bring_postgres_to_the_head() -> None:
    with scratch_postgres() as url:
        db = Database(url)
        upgrade(db)
        assert current_revisions(db) == head_revisions()
        db.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_db: Database) -> None:
    with sqlite_db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_an_unsupported_url_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_url("mysql://root:topsecret@h/db")
    assert "topsecret" not in str(caught.value)


def test_times_come_back_aware_and_in_utc(db: Database) -> None:
    local = FakeClock(datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    with db.write() as session:
        entry = journal.record(
            session, local, actor="alice", action="test", subject=journal.Subject("t", "1")
        )
    with db.read() as session:
        stored = session.get(JournalEntry, entry.id)
        assert stored is not None
        assert stored.at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        assert stored.at.tzinfo is not None


def test_journal_entries_are_masked_before_they_are_stored(db: Database, clock: FakeClock) -> None:
    with db.write() as session:
        journal.record(
            session,
            clock,
            actor="alice",
            action="run.step",
            subject=journal.Subject("run", "7"),
            summary="ran with pw-123456",
            details={"DB_PASSWORD": "pw-123456", "step": 2},
            redactor=Redactor(["pw-123456"]),
        )
    with db.read() as session:
        [entry] = journal.entries(session, subject=journal.Subject("run", "7"))
    assert "pw-123456" not in entry.summary + str(entry.details)
    assert entry.details["step"] == 2


@pytest.mark.parametrize(
    "statement", ["UPDATE journal_entries SET actor = 'mallory'", "DELETE FROM journal_entries"]
)
def test_the_journal_refuses_updates_and_deletes(
    db: Database, clock: FakeClock, statement: str
) -> None:
    with db.write() as session:
        journal.record(session, clock, actor="alice", action="x", subject=journal.Subject("t", "1"))
    with pytest.raises(DBAPIError, match="append-only"), db.write() as session:
        session.execute(text(statement))


def test_journal_entries_filter_by_action_prefix_and_time(db: Database, clock: FakeClock) -> None:
    with db.write() as session:
        journal.record(
            session, clock, actor="a", action="alert.ack", subject=journal.Subject("alert", "1")
        )
        clock.advance(60)
        journal.record(
            session, clock, actor="a", action="run.start", subject=journal.Subject("run", "1")
        )
    with db.read() as session:
        assert [e.action for e in journal.entries(session, action_prefix="alert.")] == ["alert.ack"]
        assert [e.action for e in journal.entries(session, since=clock.now())] == ["run.start"]


def test_concurrent_sqlite_writers_wait_instead_of_failing(
    sqlite_db: Database, clock: FakeClock
) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with sqlite_db.write() as session:
                    session.scalar(text("SELECT count(*) FROM journal_entries"))
                    journal.record(
                        session,
                        clock,
                        actor=f"w{n}",
                        action="x",
                        subject=journal.Subject("t", str(i)),
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite_db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM journal_entries")) == 100


def test_migrations_match_the_table_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from opsbook.storage.migrations.gather import metadata

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []
