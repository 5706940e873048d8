"""Alertmanager webhook payloads are stored by fingerprint, shown, and open incidents."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.web.live import Live


def _payload(name: str, status: str = "firing") -> dict:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="' + name + '"}',
        "status": status,
        "receiver": "opsbook",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name, "severity": "critical"},
        "commonAnnotations": {"summary": "Disk almost full"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "instance": "db-1"},
                "annotations": {},
                "startsAt": "2026-01-05T11:58:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-05T12:10:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": f"fp-{name}",
            }
        ],
    }


def test_a_firing_alert_is_stored_and_shown_then_resolved(live: Live) -> None:
    name = f"DiskFull{uuid.uuid4().hex[:6]}"
    with live.client("responder") as client:
        receipt = client.post("/api/v1/alerts/alertmanager", json=_payload(name)).json()
        assert receipt == {"received": 1, "firing": 1, "resolved": 0}
        firing = client.get("/api/v1/alerts/external", params={"status": "firing"}).json()
        alert = next(a for a in firing if a["name"] == name)
        assert alert["severity"] == "critical" and alert["summary"] == "Disk almost full"
        assert alert["ends_at"] is None and alert["labels"]["instance"] == "db-1"
        client.post("/api/v1/alerts/alertmanager", json=_payload(name, "resolved"))
        listed = [a for a in client.get("/api/v1/alerts/external").json() if a["name"] == name]
    assert len(listed) == 1 and listed[0]["status"] == "resolved"


def test_the_dashboard_shows_what_alertmanager_sent(live: Live) -> None:
    name = f"Latency{uuid.uuid4().hex[:6]}"
    with live.client("responder") as client:
        client.post("/api/v1/alerts/alertmanager", json=_payload(name))
    with live.sign_in("viewer") as browser:
        page = browser.get("/", headers={"accept": "text/html"}).text
    assert name in page


def test_a_payload_without_alerts_is_refused(live: Live) -> None:
    with live.client("responder") as client:
        response = client.post("/api/v1/alerts/alertmanager", json={"receiver": "x", "alerts": []})
    assert response.status_code == 422


def _incident_of(client: httpx.Client, name: str) -> dict[str, Any] | None:
    for summary in client.get("/api/v1/incidents", params={"open_only": False}).json():
        if summary["title"].startswith(f"{name}:"):
            return client.get(f"/api/v1/incidents/{summary['id']}").json()  # type: ignore[no-any-return]
    return None


def test_a_critical_alertmanager_alert_opens_an_incident_that_calms_when_it_resolves(
    live: Live,
) -> None:
    name = f"DbDown{uuid.uuid4().hex[:6]}"
    firing = _payload(name)
    firing["alerts"][0]["annotations"] = {"runbook_url": "https://wiki.example/db#down"}
    with live.client("responder") as client:
        client.post("/api/v1/alerts/alertmanager", json=firing)
        client.post("/api/v1/alerts/alertmanager", json=firing)  # the repeat interval: no change
        incident = _incident_of(client, name)
        assert incident is not None
        assert incident["title"] == f"{name}: Disk almost full"
        assert incident["severity"] == "P1" and incident["status"] == "investigating"
        assert incident["runbook"] == "https://wiki.example/db#down"
        assert [(a["source"], a["label"], a["active"]) for a in incident["alerts"]] == [
            ("alertmanager", f'{name}{{instance="db-1"}}', True)
        ]
        fired = [e for e in incident["timeline"] if e["text"].endswith(" firing")]
        assert len(fired) == 1
        client.post("/api/v1/alerts/alertmanager", json=_payload(name, "resolved"))
        calmed = _incident_of(client, name)
    assert calmed is not None and calmed["status"] == "monitoring"
    assert calmed["alerts"][0]["active"] is False


def test_an_alertmanager_alert_firing_again_sends_its_incident_back_to_investigating(
    live: Live,
) -> None:
    name = f"Flap{uuid.uuid4().hex[:6]}"
    with live.client("responder") as client:
        client.post("/api/v1/alerts/alertmanager", json=_payload(name))
        client.post("/api/v1/alerts/alertmanager", json=_payload(name, "resolved"))
        client.post("/api/v1/alerts/alertmanager", json=_payload(name))
        incident = _incident_of(client, name)
    assert incident is not None and incident["status"] == "investigating"
    assert incident["alerts"][0]["active"] is True


def test_an_alertmanager_warning_opens_no_incident(live: Live) -> None:
    name = f"SlowDisk{uuid.uuid4().hex[:6]}"
    warning = _payload(name)
    warning["commonLabels"]["severity"] = "warning"  # P3: below the levels that open incidents
    with live.client("responder") as client:
        client.post("/api/v1/alerts/alertmanager", json=warning)
        assert _incident_of(client, name) is None
