"""Check colours follow the check's own thresholds: a confirmed failure is red even when the
check is not critical, and the latency is judged against `max_response_time` and `timeout`;
the dashboard also colours each `thresholds:` row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbook.runtime import worker_factories
from tests.web.live import Live
from tests.web.target import Target
from tests.web.test_checks import wait_for


@pytest.fixture
def target() -> Target:
    return Target()


@pytest.fixture
def watching(serve_with, target: Target) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    with target.running() as url:
        docs = {
            "name": "docs",
            "type": "http",
            "url": f"{url}/docs",
            "interval": "1s",
            "timeout": "800ms",
            "max_response_time": "250ms",
            "critical": False,
            "group": "Website",
        }
        thresholds = [
            {"metric": "check_duration_seconds", "green": "< 500ms", "red": "> 2s"},
            {"metric": "User Satisfaction Score", "green": "> 4.5"},
        ]
        config = {
            "checks": [docs],
            "thresholds": thresholds,
            "metrics": {"flush_interval": "100ms"},
        }
        with serve_with(config, factories=worker_factories()) as live:
            yield live


def test_a_failing_non_critical_check_is_red_while_the_rollup_is_only_degraded(
    watching: Live, target: Target
) -> None:
    with watching.client("viewer") as client:
        wait_for(
            lambda: client.get("/api/v1/checks").json(), lambda c: c and c[0]["colour"] == "green"
        )
        target.status = 500
        (docs,) = wait_for(
            lambda: client.get("/api/v1/checks").json(), lambda c: c[0]["colour"] == "red"
        )
        health = client.get("/health").json()
    assert docs["status"] == "degraded" and docs["critical"] is False
    assert health["status"] == "degraded"


def test_a_checks_latency_thresholds_come_from_its_config_and_colour_the_dashboard(
    watching: Live,
) -> None:
    with watching.client("viewer") as client:
        (docs,) = wait_for(
            lambda: client.get("/api/v1/checks").json(), lambda c: c and c[0]["latency_ms"]
        )
    assert (docs["latency_warn_ms"], docs["latency_fail_ms"]) == (250.0, 800.0)
    with watching.sign_in("viewer") as browser:
        dashboard = browser.get("/", headers={"accept": "text/html"}).text
    row = dashboard.split('data-check="docs"', 1)[1].split("</tr>", 1)[0]
    assert 'class="latency s-green" title="degraded above 250 ms, fails at 800 ms"' in row


def test_the_dashboard_colours_each_threshold_row_by_its_bands(watching: Live) -> None:
    def panel() -> str:
        with watching.sign_in("viewer") as browser:
            page = browser.get("/", headers={"accept": "text/html"}).text
        return page.split('id="thresholds"', 1)[1].split("</section>", 1)[0]

    found = wait_for(panel, lambda text: "check=docs" in text)
    latency = found.split('data-threshold="check_duration_seconds"', 1)[1].split("</tr>", 1)[0]
    assert "s-green" in latency and "check=docs" in latency
    unmeasured = found.split('data-threshold="User Satisfaction Score"', 1)[1].split("</tr>")[0]
    assert "not measured" in unmeasured and "s-unknown" in unmeasured
