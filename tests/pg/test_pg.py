from __future__ import annotations

import contextlib
import json
import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.errors import ConflictError, NotFoundError, UsageError
from opsbook.pg import changes, diagnostics, service
from opsbook.pg.connect import connect, target
from opsbook.storage import Database
from tests.pg.conftest import is_alive
from tests.polling import eventually

pytestmark = pytest.mark.postgres


def flush_stats(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT pg_stat_force_next_flush()")


def make_table_with_dead_rows(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TABLE songs (id int PRIMARY KEY, title text, plays int)")
    conn.execute("INSERT INTO songs SELECT g, 'song ' || g, g % 7 FROM generate_series(1, 10000) g")
    conn.execute("DELETE FROM songs WHERE id <= 6000")
    flush_stats(conn)


def test_connections_are_counted_by_state(where, open_conn) -> None:
    for _ in range(3):
        open_conn("idle-app")
    busy = open_conn("tx-app", autocommit=False)
    busy.execute("SELECT 1")  # leaves it idle in transaction
    outcome = service.connections(where)
    groups = {(g["application"], g["state"]): g["count"] for g in outcome.data["groups"]}
    assert groups[("idle-app", "idle")] == 3
    assert groups[("tx-app", "idle in transaction")] == 1
    assert outcome.data["by_state"]["idle"] >= 3
    assert "idle-app" in outcome.text


def test_kill_idle_without_yes_lists_and_ends_nothing(where, open_conn) -> None:
    idle = [open_conn("victim") for _ in range(2)]
    outcome = service.kill_idle(where, 0.0)
    listed = {r["pid"] for r in outcome.data["listed"]}
    assert {c.info.backend_pid for c in idle} <= listed
    assert outcome.data["ended"] == [] and outcome.data["dry_run"]
    assert all(is_alive(c) for c in idle)
    assert "--yes" in outcome.text


def test_kill_idle_skips_connections_idle_for_less_than_the_limit(where, open_conn) -> None:
    open_conn("fresh")
    assert service.kill_idle(where, 3600.0).data["listed"] == []


def test_kill_idle_with_yes_ends_the_idle_connections(where, open_conn) -> None:
    idle = [open_conn("victim") for _ in range(2)]
    outcome = service.kill_idle(where, 0.0, yes=True)
    assert set(outcome.data["ended"]) >= {c.info.backend_pid for c in idle}
    assert not any(is_alive(c) for c in idle)


def test_ending_touches_only_what_was_listed(where, open_conn) -> None:
    listed_idle, woke_up, newcomer = open_conn("a"), open_conn("b"), open_conn("c")
    with connect(where) as conn:
        listed = [
            r
            for r in diagnostics.idle_connections(conn, 0.0, ["idle"], False)
            if r["application"] in ("a", "b")
        ]
        woke_up.execute("SELECT 1")  # did something after it was listed
        reused = dict(
            listed[0], backend_start="2000-01-01T00:00:00+00:00"
        )  # same pid, other backend
        ended, skipped = changes.end_connections(conn, [reused, *listed])
    assert ended == [listed_idle.info.backend_pid]
    assert sorted(skipped) == sorted([listed_idle.info.backend_pid, woke_up.info.backend_pid])
    assert not is_alive(listed_idle)
    assert is_alive(woke_up) and is_alive(newcomer)


def test_bloat_reports_dead_tuples_and_vacuum_clears_them(where, open_conn) -> None:
    conn = open_conn()
    make_table_with_dead_rows(conn)

    def songs_row() -> dict[str, Any] | None:
        rows = service.bloat(where).data["tables"]
        return next((r for r in rows if r["table"] == "songs" and r["dead"] == 6000), None)

    row = eventually(songs_row)
    assert row["live"] == 4000 and row["dead_ratio"] == 0.6 and row["vacuum_advised"]
    outcome = service.vacuum(where, "songs", analyze=True)
    assert outcome.data["statement"] == 'VACUUM (ANALYZE) "public"."songs"'

    def cleaned() -> bool:
        tables = service.bloat(where).data["tables"]
        return not any(r["table"] == "songs" for r in tables)

    assert eventually(cleaned)


def test_vacuum_of_the_whole_database_runs_outside_a_transaction(where) -> None:
    assert service.vacuum(where, None, analyze=False).data["statement"] == "VACUUM"


def test_a_table_name_is_never_pasted_into_sql(where, open_conn) -> None:
    conn = open_conn()
    conn.execute('CREATE TABLE "Odd ""Name""" (id int)')
    outcome = service.vacuum(where, '"Odd ""Name"""', analyze=True)
    assert outcome.data["statement"] == 'VACUUM (ANALYZE) "public"."Odd ""Name"""'
    with pytest.raises(UsageError, match="not a table name"):
        service.vacuum(where, "songs; DROP TABLE x", analyze=False)
    with pytest.raises(NotFoundError, match="no table 'missing'"):
        service.vacuum(where, "missing", analyze=False)


def test_unused_indexes_are_listed_but_not_constraint_or_used_ones(where, open_conn) -> None:
    conn = open_conn()
    make_table_with_dead_rows(conn)
    conn.execute("CREATE INDEX songs_title_idx ON songs (title)")
    conn.execute("CREATE INDEX songs_plays_idx ON songs (plays)")
    conn.execute("SET enable_seqscan = off")
    conn.execute("SELECT count(*) FROM songs WHERE plays = 3").fetchone()
    flush_stats(conn)

    def listed() -> set[str] | None:
        names = {i["index"] for i in service.unused_indexes(where).data["indexes"]}
        return names if "songs_plays_idx" not in names else None

    names = eventually(listed)
    assert "songs_title_idx" in names
    assert "songs_pkey" not in names


def test_slow_queries_explain_how_to_enable_pg_stat_statements(where) -> None:
    outcome = service.slow_queries(where)
    assert not outcome.ok
    info = outcome.data["pg_stat_statements"]
    assert info["available"] is False
    assert "shared_preload_libraries" in outcome.text
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in outcome.text


def test_slow_queries_show_a_query_running_now(where, pg_url) -> None:
    sleeper = psycopg.connect(pg_url, autocommit=True)
    thread = threading.Thread(target=lambda: _sleep_quietly(sleeper))
    thread.start()
    try:
        running = eventually(
            lambda: service.slow_queries(where, running_for=0.0).data["running"], timeout=10
        )
        assert "pg_sleep" in running[0]["query"]
    finally:
        sleeper.cancel_safe()
        thread.join()
        sleeper.close()


def _sleep_quietly(conn: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(30)")


def test_table_sizes_list_the_biggest_table_first(where, open_conn) -> None:
    conn = open_conn()
    make_table_with_dead_rows(conn)
    conn.execute("CREATE TABLE tiny (id int)")
    tables = service.table_sizes(where).data["tables"]
    assert [t["table"] for t in tables][:2] == ["songs", "tiny"]
    assert tables[0]["total_bytes"] > tables[0]["table_bytes"] > 0


def test_reindex_runs_concurrently(where, open_conn) -> None:
    make_table_with_dead_rows(open_conn())
    outcome = service.reindex(where, "songs")
    assert outcome.data["statement"] == 'REINDEX TABLE CONCURRENTLY "public"."songs"'


def test_a_read_only_connection_refuses_changes(pg_url) -> None:
    config = config_from_data({"connections": {"ro": {"url": pg_url, "read_only": True}}})
    with pytest.raises(ConflictError, match="read-only"):
        service.vacuum(target(config, "ro", {}), None, analyze=True)


def test_growth_projects_when_the_disk_fills(where, open_conn, sqlite_db: Database) -> None:
    clock = FakeClock()
    first = service.growth(where, sqlite_db, clock.now(), disk_free=10 * 1024**3)
    assert first.data["bytes_per_day"] is None
    conn = open_conn()
    conn.execute(
        "CREATE TABLE blobs AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 20000) g"
    )
    clock.advance(timedelta(days=1).total_seconds())
    second = service.growth(where, sqlite_db, clock.now(), disk_free=10 * 1024**3)
    grew = second.data["size_bytes"] - first.data["size_bytes"]
    assert grew > 0
    assert second.data["bytes_per_day"] == pytest.approx(grew)
    assert second.data["days_until_full"] == pytest.approx(10 * 1024**3 / grew)
    assert second.data["samples"] == 2


def test_the_cli_prints_json_for_every_read_command(cli, pg_url) -> None:
    for command in ("connections", "bloat", "unused-indexes", "table-sizes"):
        result = cli("pg", command, "--connection", pg_url, "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["schema_version"] == 1


def test_the_cli_kill_idle_needs_yes(cli, pg_url, open_conn) -> None:
    victim = open_conn("victim")
    dry = cli("pg", "kill-idle", "--older-than", "0s", "-C", pg_url)
    assert dry.exit_code == 0 and "Would end" in dry.stdout and is_alive(victim)
    done = cli("pg", "kill-idle", "--older-than", "0s", "-C", pg_url, "--yes", "--json")
    assert victim.info.backend_pid in json.loads(done.stdout)["ended"]
    assert not is_alive(victim)


def test_an_unknown_connection_name_is_bad_input(cli) -> None:
    result = cli("pg", "connections", "--connection", "nowhere")
    assert result.exit_code == 2
    assert "unknown connection 'nowhere'" in result.stderr
