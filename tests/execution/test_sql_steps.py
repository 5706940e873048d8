from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from opsbook.config import config_from_data
from opsbook.execution.model import RunStatus
from opsbook.runbook.model import StepKind
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.execution.conftest import request, run_data, runbook, start, step
from tests.services import scratch_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def target() -> Iterator[str]:
    with scratch_postgres("opsbook_sqlstep") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE songs (id int PRIMARY KEY, title text)")
            conn.execute("INSERT INTO songs VALUES (1, 'Intro'), (2, 'Outro')")
        yield url


def _runtime(db: Database, tmp_path: Path, url: str, **conn: object) -> Runtime:
    config = config_from_data({"connections": {"main": {"url": url, **conn}}}, base_dir=tmp_path)
    return Runtime(config=config, db=db, node_id="test")


def sql(number: int, code: str, **kw: object) -> object:
    return step(number, code, kind=StepKind.SQL, **kw)  # type: ignore[arg-type]


def test_sql_statements_print_tables_and_store_row_counts(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target)
    code = "-- 1. Count\nSELECT count(*) FROM songs;\nSELECT id, title FROM songs ORDER BY id;"
    outcome = start(runtime, request(runbook(sql(1, code))))  # type: ignore[arg-type]
    data = run_data(runtime, outcome.run_id)["steps"][0]
    assert outcome.status is RunStatus.OK
    assert " id | title\n----+-------\n 1  | Intro\n 2  | Outro\n(2 rows)" in data["output"]
    assert [(s["status"], s["rows"]) for s in data["data"]["statements"]] == [
        ("SELECT 1", 1),
        ("SELECT 2", 2),
    ]


def test_vacuum_and_concurrent_index_run_outside_a_transaction(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target)
    code = "VACUUM ANALYZE songs;\nCREATE INDEX CONCURRENTLY songs_title ON songs (title);"
    outcome = start(runtime, request(runbook(sql(1, code)), opts={"yes": True}))  # type: ignore[arg-type]
    assert outcome.status is RunStatus.OK, run_data(runtime, outcome.run_id)["stop_reason"]
    with psycopg.connect(target) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'songs_title'"
        ).fetchone() == (1,)


def test_an_explicit_transaction_is_kept_and_rolled_back_on_error(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target)
    code = "BEGIN;\nINSERT INTO songs VALUES (3, 'Bridge');\nSELECT 1/0;\nCOMMIT;"
    outcome = start(runtime, request(runbook(sql(1, code))))  # type: ignore[arg-type]
    data = run_data(runtime, outcome.run_id)["steps"][0]
    assert outcome.status is RunStatus.FAILED
    assert data["error"] == "ERROR:  division by zero"
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM songs").fetchone() == (2,)


def test_the_server_message_is_what_the_step_reports(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target)
    outcome = start(runtime, request(runbook(sql(1, "SELECT * FROM pg_stat_statements;"))))  # type: ignore[arg-type]
    data = run_data(runtime, outcome.run_id)["steps"][0]
    assert data["error"] == 'ERROR:  relation "pg_stat_statements" does not exist'
    assert 'ERROR:  relation "pg_stat_statements" does not exist\nLINE 1:' in data["output"]


def test_the_statement_timeout_cancels_a_long_statement(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target, statement_timeout="300ms")
    outcome = start(runtime, request(runbook(sql(1, "SELECT pg_sleep(10);"))))  # type: ignore[arg-type]
    data = run_data(runtime, outcome.run_id)["steps"][0]
    assert data["status"] == "failed"
    assert data["error"] == "ERROR:  canceling statement due to statement timeout"


def test_the_step_timeout_cancels_the_running_statement(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target)
    book = runbook(sql(1, "SELECT pg_sleep(10);", attrs={"timeout": "500ms"}))  # type: ignore[arg-type]
    outcome = start(runtime, request(book))
    assert run_data(runtime, outcome.run_id)["steps"][0]["status"] == "timed_out"


def test_meta_commands_run_through_psql_with_the_password_out_of_argv(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    runtime = _runtime(sqlite_db, tmp_path, target)
    outcome = start(
        runtime,
        request(runbook(sql(1, "\\d+ songs\nSELECT 42 AS answer;"))),  # type: ignore[arg-type]
        environ={"PATH": os.environ["PATH"]},
    )
    data = run_data(runtime, outcome.run_id)["steps"][0]
    assert outcome.status is RunStatus.OK, data["output"]
    assert 'Table "public.songs"' in data["output"] and "42" in data["output"]


def test_meta_commands_without_psql_fail_saying_so(
    sqlite_db: Database, tmp_path: Path, target: str
) -> None:
    from opsbook.execution import service

    runtime = _runtime(sqlite_db, tmp_path, target)
    req = request(runbook(sql(1, "\\dt")))  # type: ignore[arg-type]
    prepared = service.prepare(runtime, req, environ={"PATH": str(tmp_path)})
    assert [(p.kind, p.name) for p in prepared.preflight.problems] == [("tool", "psql")]
