"""Checks in the server: states, history, /health, the dashboard and the status page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from opsbook.runtime import worker_factories
from tests.web.live import Live
from tests.web.target import Target


def wait_for(fetch: Any, predicate: Any, seconds: float = 20.0) -> Any:
    """Poll `fetch()` until `predicate(value)` holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last value: {value!r}"
        time.sleep(0.2)


@pytest.fixture
def target() -> Target:
    return Target()


@pytest.fixture
def watching(serve_with, target: Target) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    with target.running() as url:
        checks = [
            {
                "name": "api",
                "type": "http",
                "url": f"{url}/api",
                "interval": "1s",
                "timeout": "500ms",
                "group": "API",
            },
            {
                "name": "docs",
                "type": "http",
                "url": f"{url}/docs",
                "interval": "1s",
                "timeout": "500ms",
                "critical": False,
                "group": "Website",
            },
        ]
        with serve_with(
            {"checks": checks, "metrics": {"flush_interval": "100ms"}}, factories=worker_factories()
        ) as live:
            yield live


def _checks(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every check by name; an empty state for one not yet in the store."""
    found = {c["name"]: c for c in client.get("/api/v1/checks").json()}
    return {name: found.get(name, {"status": "", "colour": ""}) for name in ("api", "docs")}


def test_a_check_goes_red_when_its_target_fails_and_green_again(
    watching: Live, target: Target
) -> None:
    with watching.client("viewer") as client:
        checks = wait_for(
            lambda: _checks(client),
            lambda c: c["api"]["status"] == "healthy" and c["docs"]["status"] == "healthy",
        )
        assert checks["api"]["colour"] == "green" and checks["api"]["latency_ms"] >= 0
        wait_for(lambda: client.get("/health").json()["status"], lambda s: s == "healthy")
        target.status = 500
        checks = wait_for(lambda: _checks(client), lambda c: c["api"]["colour"] == "red")
        assert checks["docs"]["status"] == "degraded"  # not critical: degraded, not unhealthy
        health = wait_for(lambda: client.get("/health"), lambda r: r.status_code == 503)
        assert health.json()["status"] == "unhealthy"
        metrics = wait_for(
            lambda: client.get("/metrics").text,
            lambda t: 'check_status{check="api",group="API"} 2.0' in t,
        )
        assert 'opsbook_checks{status="unhealthy"} 1.0' in metrics
        detail = client.get("/api/v1/checks/api").json()
        assert detail["flips"][0]["to_status"] == "unhealthy"
        target.status = 200
        wait_for(lambda: _checks(client), lambda c: c["api"]["colour"] == "green")


def test_a_checks_history_has_its_latency(watching: Live) -> None:
    with watching.client("viewer") as client:
        points = wait_for(
            lambda: client.get("/api/v1/checks/api/history?hours=1").json(), lambda p: len(p) >= 2
        )
    assert all(p["latency_ms"] >= 0 for p in points)


def test_a_configured_check_that_has_not_run_yet_is_unknown(serve_with) -> None:  # type: ignore[no-untyped-def]
    checks = [{"name": "api", "type": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}]
    with serve_with({"checks": checks}) as live, live.client("viewer") as client:  # no runner
        health = client.get("/health").json()
        listed = client.get("/api/v1/checks").json()
    assert {"name": "api", "status": "unknown", "critical": True} in health["checks"]
    assert health["status"] == "degraded"
    rows = [(c["name"], c["status"], c["last_run_at"]) for c in listed]
    assert rows == [("api", "unknown", None)]


def test_an_unknown_check_is_404(watching: Live) -> None:
    with watching.client("viewer") as client:
        assert client.get("/api/v1/checks/nope").status_code == 404
        assert client.get("/api/v1/checks/nope/history").status_code == 404


def test_check_groups_are_the_status_pages_components(watching: Live, target: Target) -> None:
    with watching.client() as anonymous:
        page = wait_for(
            lambda: anonymous.get("/status").text, lambda t: "All systems operational" in t
        )
        assert "API" in page and "Website" in page
        target.status = 503
        page = wait_for(lambda: anonymous.get("/status").text, lambda t: "Major outage" in t)
        assert "1 of 1 checks failing" in page
        assert "/api" not in page.split("<main>", 1)[1]  # no check names or URLs in public


@pytest.mark.browser
def test_the_dashboard_shows_a_check_go_red(page, watching: Live, target: Target) -> None:  # type: ignore[no-untyped-def]
    from tests.web.browser import screenshot
    from tests.web.test_pages import sign_in

    sign_in(page, watching, "viewer")
    with watching.client("viewer") as client:
        wait_for(lambda: _checks(client), lambda c: c["api"]["colour"] == "green")
    page.reload()
    row = page.locator("#checks tr[data-check=api]")
    assert "s-green" in (row.get_attribute("class") or "")
    target.status = 500
    with watching.client("viewer") as client:
        wait_for(lambda: _checks(client), lambda c: c["api"]["colour"] == "red")
    page.reload()
    assert "s-red" in (page.locator("#checks tr[data-check=api]").get_attribute("class") or "")
    assert page.locator("#rollup").inner_text().startswith("UNHEALTHY")
    screenshot(page, "dashboard-check-red")
    page.click("#checks tr[data-check=api] a")
    assert "unhealthy" in page.locator("#check-status").inner_text().lower()
    screenshot(page, "check-detail")
