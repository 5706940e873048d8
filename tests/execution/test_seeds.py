"""The seed runbooks, parsed by the real parser, run against the real PostgreSQL."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.services import PG_URL, scratch_postgres, with_database

pytest.importorskip("opsbook.runbook.parse", reason="the runbook parser is not in this build")

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_000 = SEEDS / "000_19d07af439d3ea6b.txt"
SEED_004 = SEEDS / "004_5964dcd522885a12.txt"


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_postgres("opsbook_seed") as url:
        yield url


def _db_vars(url: str, tmp_path: Path) -> list[str]:
    parts = urlsplit(url)
    env_file = tmp_path / "db.env"
    env_file.write_text("DB_PASSWORD='not-needed-but-secret'\n")
    return [
        "--var", f"DB_HOST={parts.hostname}",
        "--var", f"DB_PORT={parts.port or 5432}",
        "--var", f"DB_USER={parts.username or 'postgres'}",
        "--var", f"DB_NAME={parts.path.lstrip('/')}",
        "--env-file", str(env_file),
    ]  # fmt: skip


def _titled(steps: list[dict], word: str) -> dict:  # type: ignore[type-arg]
    [found] = [s for s in steps if word in s["title"].lower()]
    return found


@pytest.mark.postgres
def test_seed_000_database_diagnostics_run_against_the_real_postgres(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, database: str
) -> None:
    result = cli(
        "run", str(SEED_000), "Database Connection Issues/Diagnostic Steps",
        *_db_vars(database, tmp_path), "--continue-on-error", "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    steps = data["steps"]
    for word in ("connectivity", "authentication", "connection pool", "table sizes"):
        assert _titled(steps, word)["status"] == "ok", (word, steps)
    slow = _titled(steps, "slow queries")
    message = 'ERROR:  relation "pg_stat_statements" does not exist'
    assert slow["status"] == "failed" and slow["error"] == f"exit 1: {message}"
    assert data["stop_reason"] == f"step {slow['number']} failed: exit 1: {message}"
    shown = json.loads(cli("runs", "show", str(data["run_id"]), "--json").stdout)
    pool = _titled(shown["steps"], "connection pool")["output"]
    assert "total_connections" in pool and "(1 row)" in pool
    assert "not-needed-but-secret" not in json.dumps(shown)


@pytest.fixture
def plain_role() -> Iterator[str]:
    """A login role without superuser power: pg_terminate_backend reaches only its own sessions."""
    role = f"opsbook_seed_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield role
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.postgres
def test_seed_004_connection_exhaustion_sql_blocks_print_tables(  # type: ignore[no-untyped-def]
    cli, database: str, plain_role: str
) -> None:
    parts = urlsplit(database)
    url = with_database(
        f"postgresql://{plain_role}@{parts.hostname}:{parts.port}/x", parts.path[1:]
    )
    plan = json.loads(
        cli("run", str(SEED_004), "Database Connection Exhaustion", "--dry-run", "--json").stdout
    )["plan"]
    sql_steps = [s["number"] for s in plan if s["kind"] == "sql"]
    assert len(sql_steps) == 3
    spec = ",".join(map(str, sql_steps))
    result = cli(
        "run", str(SEED_004), "Database Connection Exhaustion", "--steps", spec,
        "--connection", f"main={url}", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert " count\n-------\n" in result.stdout
    assert "pg_terminate_backend" in result.stdout
    assert " usename " in result.stdout and "application_name" in result.stdout
    assert result.stdout.count("row") >= 3


def test_seed_000_application_restart_dry_run_shows_9_steps_and_missing_tools(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("run", str(SEED_000), "Application Restart", "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert len(data["plan"]) == 9
    missing = [p["name"] for p in data["preflight"] if p["kind"] == "tool"]
    assert "vercel" in missing
    assert all(shutil.which(tool) is None for tool in missing)
    assert result.exit_code == 2
    people = cli("run", str(SEED_000), "Application Restart", "--dry-run")
    assert "Preflight failed; nothing ran." in people.stdout and "vercel" in people.stdout
