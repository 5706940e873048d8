"""Alerts and incidents through the server: a check fails, its alert fires, a responder
acknowledges it, silences it, opens an incident and updates it; the public sees the update."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from opsbook.runtime import worker_factories
from tests.web.live import Live
from tests.web.target import Target
from tests.web.test_checks import wait_for


@pytest.fixture
def alerting(serve_with) -> Iterator[tuple[Live, Target]]:  # type: ignore[no-untyped-def]
    target = Target()
    with target.running() as url:
        config = {
            "checks": [
                {
                    "name": "api",
                    "type": "http",
                    "url": f"{url}/api",
                    "interval": "1s",
                    "timeout": "500ms",
                    "group": "API",
                }
            ],
            "alerts": [
                {
                    "name": "ApiDown",
                    "condition": 'check_up{check="api"} < 1',
                    "for": "0s",
                    "severity": "critical",
                }
            ],
            "alerting": {"interval": "1s"},
            "metrics": {"flush_interval": "100ms"},
        }
        with serve_with(config, factories=worker_factories()) as live:
            yield live, target


def _open_alerts(live: Live) -> list[dict[str, Any]]:
    with live.client("viewer") as client:
        return client.get("/api/v1/alerts").json()


def test_a_failing_check_fires_its_alert_which_a_responder_acknowledges(
    alerting: tuple[Live, Target],
) -> None:
    live, target = alerting
    target.status = 500
    alerts = wait_for(
        lambda: _open_alerts(live),
        lambda a: any(x["rule"] == "ApiDown" and x["state"] == "firing" for x in a),
        seconds=30,
    )
    alert_id = next(a["id"] for a in alerts if a["rule"] == "ApiDown")
    with live.client("viewer") as viewer:
        assert viewer.post(f"/api/v1/alerts/{alert_id}/ack", json={}).status_code == 403
    with live.client("responder") as client:
        acked = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "on it"}).json()
        assert acked["acked_by"] == "rita"
        assert client.post(f"/api/v1/alerts/{alert_id}/ack", json={}).status_code == 409
        silence = client.post(
            "/api/v1/silences",
            json={"matchers": ["alertname=ApiDown"], "duration": "1h", "comment": "deploying"},
        )
        assert silence.status_code == 201 and silence.json()["active"] is True
        assert client.delete(f"/api/v1/silences/{silence.json()['id']}").status_code == 200


def test_an_incident_is_opened_updated_and_shown_publicly(alerting: tuple[Live, Target]) -> None:
    live, _ = alerting
    with live.client("responder") as client:
        opened = client.post(
            "/api/v1/incidents",
            json={"title": "API errors", "severity": "P1", "public": True, "impact": "API down"},
        )
        assert opened.status_code == 201, opened.text
        incident_id = opened.json()["id"]
        updated = client.post(
            f"/api/v1/incidents/{incident_id}/updates",
            json={"message": "Rolled back the deploy", "status": "monitoring", "public": True},
        ).json()
        client.post(
            f"/api/v1/incidents/{incident_id}/updates",
            json={"message": "internal: db host db-7 swapped"},
        )
    assert updated["status"] == "monitoring"
    with live.client() as anonymous:
        page = anonymous.get("/status").text
    assert "API errors" in page and "Rolled back the deploy" in page
    assert "db-7" not in page


@pytest.mark.browser
def test_sign_in_see_red_acknowledge_and_run_an_incident(page, alerting) -> None:  # type: ignore[no-untyped-def]
    from tests.web.browser import screenshot
    from tests.web.test_pages import sign_in

    live, target = alerting
    sign_in(page, live, "responder")
    target.status = 500
    wait_for(
        lambda: _open_alerts(live), lambda a: any(x["state"] == "firing" for x in a), seconds=30
    )
    with live.client("viewer") as client:
        wait_for(lambda: client.get("/api/v1/checks/api").json()["colour"], lambda c: c == "red")
    page.reload()
    assert "s-red" in (page.locator("#checks tr[data-check=api]").get_attribute("class") or "")
    assert "ApiDown" in page.locator("#firing-alerts").inner_text()
    screenshot(page, "dashboard-firing")
    page.goto(f"{live.url}/alerts")
    page.locator("tr[data-alert=ApiDown] form.ack-form input[name=comment]").fill("looking")
    page.locator("tr[data-alert=ApiDown] form.ack-form button").click()
    page.wait_for_url(f"{live.url}/alerts")
    assert "ack rita" in page.locator("#open-alerts").inner_text().lower()
    screenshot(page, "alerts-acknowledged")
    page.goto(f"{live.url}/incidents")
    page.fill("#open-incident input[name=title]", "API returns 500")
    page.check("#open-incident input[name=public]")
    page.click("#open-incident button[type=submit]")
    page.wait_for_url(f"{live.url}/incidents/*")
    page.fill("#update-form textarea[name=message]", "Found the bad deploy; rolling back")
    page.select_option("#update-form select[name=status]", "identified")
    page.check("#update-form input[name=public]")
    page.click("#update-form button[type=submit]")
    assert "Found the bad deploy" in page.locator("#timeline").inner_text()
    assert "identified" in page.locator("#incident-status").inner_text().lower()
    screenshot(page, "incident")
    page.context.clear_cookies()
    page.goto(f"{live.url}/status")
    assert "Found the bad deploy" in page.locator("#incidents").inner_text()
    screenshot(page, "status-with-incident")
