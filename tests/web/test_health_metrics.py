"""/health, /metrics and the public status page."""

from __future__ import annotations

from opsbook.clock import SystemClock
from opsbook.config.load import config_from_data
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.web.health import HealthReport, rollup
from tests.web.live import Live


def test_health_is_public_and_has_the_rollup_shape(live: Live) -> None:
    with live.client() as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "checks", "timestamp"}
    assert body["status"] == "healthy"
    store = next(c for c in body["checks"] if c["name"] == "store")
    assert store["status"] == "healthy" and store["critical"] is True
    assert store["latency"] >= 0


def test_a_store_that_cannot_be_reached_makes_health_unhealthy() -> None:
    db = Database("postgresql://opsbook:pw-hidden@127.0.0.1:1/nothing")
    runtime = Runtime(config_from_data({}), db, SystemClock(), node_id="t")
    try:
        report = HealthReport(runtime).current()
    finally:
        db.dispose()
    assert report["status"] == "unhealthy"
    assert report["checks"][0]["error"]
    assert "pw-hidden" not in str(report)


def test_the_rollup_follows_criticality() -> None:
    ok = {"status": "healthy", "critical": True}
    assert rollup([ok]) == "healthy"
    assert rollup([ok, {"status": "unhealthy", "critical": False}]) == "degraded"
    assert rollup([ok, {"status": "degraded", "critical": True}]) == "degraded"
    assert rollup([ok, {"status": "unhealthy", "critical": True}]) == "unhealthy"


def test_metrics_need_a_token_by_default_and_count_requests(live: Live) -> None:
    with live.client() as anonymous:
        assert anonymous.get("/metrics").status_code == 401
    with live.client("viewer") as client:
        client.get("/health")
        text = client.get("/metrics").text
    assert 'opsbook_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "opsbook_info{" in text


def test_metrics_are_public_when_configured(serve_with) -> None:  # type: ignore[no-untyped-def]
    with serve_with({"server": {"public_metrics": True}}) as live, live.client() as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


def test_the_status_page_is_public(live: Live) -> None:
    with live.client() as client:
        response = client.get("/status", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "Service status" in response.text
    assert "Sign in" in response.text


def test_pages_send_headers_that_forbid_framing_and_foreign_scripts(live: Live) -> None:
    with live.client() as client:
        response = client.get("/status")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_a_snapshot_serves_the_last_value_while_it_refreshes_and_waits_when_too_old() -> None:
    import asyncio

    from opsbook.web import snapshot

    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    async def scenario() -> list[int]:
        snap = snapshot.Snapshot(compute, max_age=0.05)
        first = await snap.get()
        await asyncio.sleep(0.06)  # stale, not too old: the old value, a refresh started
        second = await snap.get()
        deadline = asyncio.get_running_loop().time() + 5
        while len(calls) < 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # far too old: the read waits for a fresh value
        third = await snap.get()
        return [first, second, third]

    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs here
        assert pool.submit(asyncio.run, scenario()).result() == [1, 1, 3]
