"""Alertmanager webhook payloads are stored by fingerprint and shown."""

from __future__ import annotations

import uuid

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
