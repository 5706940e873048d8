"""The cluster through the server: /api/v1/cluster, /metrics and the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.clock import SystemClock
from opsbook.cluster import service
from opsbook.config.load import config_from_data
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.web.live import Live, serve_live


@pytest.fixture
def live(sqlite_db: Database, tmp_path: Path) -> Iterator[Live]:
    from opsbook.accounts import passwords

    before, passwords.LOG2_N = passwords.LOG2_N, 10  # cheap hashing; tests/accounts checks it
    runtime = Runtime(config_from_data({}, base_dir=tmp_path), sqlite_db, SystemClock(), "web-1")
    clock = runtime.clock
    with sqlite_db.write() as s:
        service.register(s, "web-1", clock.now(), 10)
        service.register(s, "web-2", clock.now(), 10)
    assert runtime.leadership.lead(sqlite_db, clock)
    try:
        with serve_live(runtime) as server:
            yield server
    finally:
        passwords.LOG2_N = before


def test_the_api_shows_each_node_and_needs_a_viewer(live: Live) -> None:
    with live.client() as anonymous:
        assert anonymous.get("/api/v1/cluster").status_code == 401
    with live.client("viewer") as client:
        body = client.get("/api/v1/cluster").json()
    assert body["leader"] == "web-1" and body["node"] == "web-1" and body["alive"] == 2
    assert [(n["id"], n["leader"], n["checks"]) for n in body["nodes"]] == [
        ("web-1", True, 0),
        ("web-2", False, 0),
    ]


def test_metrics_and_the_dashboard_show_the_cluster(live: Live) -> None:
    with live.client("viewer") as client:
        text = client.get("/metrics").text
        page = client.get("/", headers={"accept": "text/html"}).text
    assert "opsbook_cluster_nodes 2.0" in text
    assert 'opsbook_cluster_leader{node="web-1"} 1.0' in text
    assert 'opsbook_cluster_node_checks{node="web-2"} 0.0' in text
    assert 'id="cluster"' in page and "web-2" in page and "(this one)" in page
