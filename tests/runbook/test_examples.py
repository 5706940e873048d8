"""The bundled example runbooks parse cleanly, lint cleanly, and their steps really run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

import opsbook
from opsbook.runbook.lint import lint_file
from opsbook.runbook.model import Runbook, Step, StepKind
from opsbook.runbook.parse import parse_file
from tests.services import REDIS_URL, require, scratch_postgres

EXAMPLES = Path(opsbook.__file__).parent / "examples" / "runbooks"


def _steps(runbook: Runbook) -> Iterator[Step]:
    for procedure in runbook.procedures:
        yield from procedure.steps


def _bash(step: Step, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -o pipefail\n" + step.code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", ["database", "host", "redis"])
def test_an_example_runbook_parses_and_lints_without_warnings(name: str) -> None:
    path = EXAMPLES / f"{name}.md"
    runbook = parse_file(path)
    assert runbook.warnings == ()
    assert runbook.procedures and runbook.alert_rules and runbook.schedules
    assert all(len(p.steps) >= 2 for p in runbook.procedures)
    assert [p for p in lint_file(path) if p.level != "info"] == []


def test_the_database_example_runs_against_postgresql() -> None:
    runbook = parse_file(EXAMPLES / "database.md")
    with scratch_postgres() as url:
        parts = urlsplit(url)
        env = {
            "PATH": os.environ["PATH"],
            "DB_HOST": parts.hostname or "127.0.0.1",
            "DB_PORT": str(parts.port or 5432),
            "DB_USER": parts.username or "postgres",
            "DB_NAME": parts.path.lstrip("/"),
        }
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE events (id serial PRIMARY KEY, body text)")
            conn.execute("INSERT INTO events (body) SELECT 'x' FROM generate_series(1, 500)")
            conn.execute("DELETE FROM events WHERE id % 2 = 0")
            ran = 0
            for step in _steps(runbook):
                if step.kind == StepKind.SHELL:
                    result = _bash(step, env)
                    assert result.returncode == 0, f"{step.title}: {result.stderr}"
                    ran += 1
                elif step.kind == StepKind.SQL:
                    conn.execute(step.code)  # type: ignore[call-overload]
                    ran += 1
            sizes = conn.execute(
                "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'events'"
            ).fetchone()
    assert ran == 15
    assert sizes == (True,)  # the vacuumdb step really vacuumed


def test_the_host_example_reads_run_on_this_machine() -> None:
    runbook = parse_file(EXAMPLES / "host.md")
    ran = 0
    for step in _steps(runbook):
        if step.kind == StepKind.SHELL and not step.needs_confirmation:
            result = _bash(step, {"PATH": os.environ["PATH"]})
            assert result.returncode == 0, f"{step.title}: {result.stderr}"
            ran += 1
    assert ran == 11


def test_the_redis_example_runs_against_redis() -> None:
    require("Redis", REDIS_URL)
    runbook = parse_file(EXAMPLES / "redis.md")
    outputs = []
    for step in _steps(runbook):
        if step.kind == StepKind.SHELL:
            result = _bash(step, {"PATH": os.environ["PATH"], "REDIS_URL": REDIS_URL})
            assert result.returncode == 0, f"{step.title}: {result.stderr}"
            outputs.append(result.stdout)
    assert outputs[0].strip() == "PONG"
    assert "used_memory_human" in outputs[3]
