from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.errors import UsageError
from opsbook.execution import service
from opsbook.execution.inputs import parse_var, read_env_file
from opsbook.execution.model import RunStatus
from opsbook.execution.output import OutputKeeper, clean_text, join_chunks, last_error_line
from opsbook.execution.tables import RunRow
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.execution.conftest import request, runbook, step


def test_a_run_and_its_output_are_stored_alike_on_sqlite_and_postgres(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    runtime = Runtime(config=config_from_data({}, base_dir=tmp_path), db=db, clock=clock)
    book = runbook(step(1, "echo one; echo two"), step(2, "exit 2"))
    outcome = asyncio.run(
        service.start(runtime, request(book), environ={"PATH": os.environ["PATH"]})
    )
    with db.read() as session:
        data = service.get(session, outcome.run_id)
        feed = service.output_since(session, outcome.run_id)
    assert (data["status"], [s["status"] for s in data["steps"]]) == ("failed", ["ok", "failed"])
    assert data["steps"][0]["output"] == "one\ntwo\n"
    assert "".join(piece["text"] for piece in feed if piece["step"] == 1) == "one\ntwo\n"


def test_a_run_silent_past_its_heartbeat_on_another_host_is_interrupted(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    config = config_from_data({"execution": {"heartbeat_interval": "5s"}}, base_dir=tmp_path)
    with db.write() as session:
        run = RunRow(
            status="running", runbook_path="x.md", runbook_sha256="", procedure="P",
            procedure_slug="p", part="", procedure_sha256="", operator="op", variables={},
            secret_names=[], connections={}, options={}, run_dir="", owner_host="elsewhere",
            owner_pid=1, owner_started=0.0, heartbeat_at=clock.now(), cancel_requested=False,
            stop_reason="", started_at=clock.now(),
        )  # fmt: skip
        session.add(run)
        session.flush()
        run_id = run.id
    clock.advance(29)
    with db.write() as session:
        assert service.reconcile(session, clock, config) == []
    clock.advance(2)
    with db.write() as session:
        assert service.reconcile(session, clock, config) == [run_id]
    with db.read() as session:
        data = service.get(session, run_id)
    assert data["status"] == RunStatus.INTERRUPTED
    assert data["stop_reason"] == "the runner (elsewhere:1) stopped without finishing"
    assert data["finished_at"] == clock.now() and timedelta(0) < clock.now() - data["started_at"]


def test_the_keeper_keeps_head_and_a_sliding_tail() -> None:
    keeper = OutputKeeper(200)
    stored: dict[int, str] = {}
    for n in range(100):
        keeper.add(f"line {n:03}\n")
        flush = keeper.flush()
        for offset in flush.deletes:
            del stored[offset]
        stored.update({c.offset: c.text for c in flush.inserts})
    from opsbook.execution.output import Chunk

    text = join_chunks([Chunk(o, t) for o, t in sorted(stored.items())])
    assert text.startswith("line 000\n")
    assert text.endswith("line 099\n")
    assert "characters of output not kept" in text
    assert keeper.truncated and len(text) < 320


def test_escape_sequences_are_dropped_from_output() -> None:
    assert (
        clean_text("\x1b[?1049h\x1b[1;24rEvery 5s: date\x1b[0m\r\nok\x07") == "Every 5s: date\nok"
    )


def test_the_error_line_is_the_last_that_looks_like_one() -> None:
    text = 'Test 4\nERROR:  relation "x" does not exist\nLINE 3: FROM x\n         ^\n'
    assert last_error_line(text) == 'ERROR:  relation "x" does not exist'
    assert last_error_line("just\nlast\n") == "last"


def test_env_files_take_export_quotes_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "db.env"
    path.write_text("# db\nexport DB_HOST=127.0.0.1\nDB_PASSWORD='p w#1'\nDB_NAME=app # main\n")
    assert read_env_file(path) == {"DB_HOST": "127.0.0.1", "DB_PASSWORD": "p w#1", "DB_NAME": "app"}
    path.write_text("DB_HOST=x\nnot a line\n")
    with pytest.raises(UsageError, match=r"db.env:2: expected NAME=value"):
        read_env_file(path)


def test_a_bare_var_name_takes_its_value_from_the_environment() -> None:
    assert parse_var("TOKEN", {"TOKEN": "t"}) == ("TOKEN", "t")
    assert parse_var("TOKEN", {}) == ("TOKEN", None)
    assert parse_var("A=b=c", {}) == ("A", "b=c")
    with pytest.raises(UsageError):
        parse_var("1BAD=x", {})
