from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from opsbook.checks.model import Status
from tests.checks.conftest import free_port, metric, run_one
from tests.services import scratch_postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_postgres("opsbook_check") as url:
        yield url


def _pg(tmp_path: Path, url: str, **settings: object):  # type: ignore[no-untyped-def]
    return run_one(
        tmp_path,
        {"type": "postgres", "connection": "main", **settings},
        connections={"main": url},
    )


@pytest.mark.postgres
def test_postgres_connections_are_counted_by_state(tmp_path: Path, pg_url: str) -> None:
    before = _pg(tmp_path, pg_url)
    extra = [psycopg.connect(pg_url, autocommit=True) for _ in range(8)]
    try:
        after = _pg(tmp_path, pg_url)
    finally:
        for conn in extra:
            conn.close()
    assert after.status is Status.HEALTHY
    database = pg_url.rsplit("/", 1)[1]  # only this test connects to it
    idle_before = metric(before, "pg_connections", state="idle", database=database)
    assert metric(after, "pg_connections", state="idle", database=database) == idle_before + 8
    assert metric(after, "pg_connections", state="active", database=database) == 1  # the check
    limit = metric(after, "pg_connections_max")
    assert metric(after, "pg_connections_used_ratio") >= 9 / limit


@pytest.mark.postgres
def test_postgres_connections_over_the_limit_degrade(tmp_path: Path, pg_url: str) -> None:
    result = _pg(tmp_path, pg_url, max_connections_used="0.5%")
    assert result.status is Status.DEGRADED
    assert result.error is not None and "connections in use" in result.error


@pytest.mark.postgres
def test_postgres_reports_size_dead_tuples_and_long_transactions(
    tmp_path: Path, pg_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id int)")
        conn.execute("INSERT INTO jobs SELECT generate_series(1, 1000)")
        conn.execute("DELETE FROM jobs WHERE id <= 500")
        conn.execute("SELECT pg_stat_force_next_flush()")
        idle = psycopg.connect(pg_url)
        idle.execute("SELECT 1")  # left idle in transaction
        try:
            result = _pg(tmp_path, pg_url, max_idle_in_transaction="0s")
        finally:
            idle.close()
    assert metric(result, "pg_dead_tuple_ratio", table="public.jobs") == pytest.approx(0.5)
    assert metric(result, "pg_database_size_bytes") > 1_000_000
    database = pg_url.rsplit("/", 1)[1]
    assert metric(result, "pg_connections", state="idle_in_transaction", database=database) == 1
    assert metric(result, "pg_replica") == 0
    assert result.status is Status.DEGRADED
    assert "idle in transaction" in (result.error or "")


def test_an_unreachable_postgres_fails(tmp_path: Path) -> None:
    result = _pg(tmp_path, f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeout="2s")
    assert result.status is Status.UNHEALTHY
    assert result.error is not None and "refused" in result.error


@pytest.mark.redis
def test_redis_pings_and_records_its_figures(tmp_path: Path, redis_url: str) -> None:
    prefix = f"opsbook-test-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(prefix + "a", "1")
        client.get(prefix + "a")
        client.get(prefix + "missing")
        result = run_one(tmp_path, {"type": "redis", "url": redis_url})
    finally:
        client.delete(prefix + "a")
        client.close()
    assert result.status is Status.HEALTHY
    assert metric(result, "redis_connected_clients") >= 1
    assert metric(result, "redis_memory_used_bytes") > 0
    assert metric(result, "redis_keyspace_hits_total") >= 1
    assert metric(result, "redis_keyspace_misses_total") >= 1
    assert 0 < metric(result, "redis_keyspace_hit_ratio") < 1
    assert metric(result, "redis_commands_processed_total") > 0


def test_an_unreachable_redis_fails(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "redis", "url": f"redis://127.0.0.1:{free_port()}/0"})
    assert result.status is Status.UNHEALTHY
    assert result.error is not None and "refused" in result.error.lower()
