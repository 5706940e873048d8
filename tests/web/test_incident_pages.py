"""The incident page's forms, each carrying the session's CSRF token: acknowledge, assign,
severity, resolve, close, note, action items, a procedure run, and the post-mortem draft page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.live import Live
from tests.web.test_checks import wait_for

HTML = {"accept": "text/html"}


@pytest.fixture
def server(with_ops: Live) -> Live:
    return with_ops


class Browser:
    """A signed-in session posting the incident page's forms as a browser would."""

    def __init__(self, live: Live, client: httpx.Client) -> None:
        self.live, self.client = live, client
        self.token = live.csrf(client)

    def submit(self, path: str, **fields: str) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.token, **fields}, headers=HTML)

    def incident(self, incident_id: int) -> dict[str, Any]:
        with self.live.client("viewer") as viewer:
            found: dict[str, Any] = viewer.get(f"/api/v1/incidents/{incident_id}").json()
        return found


@pytest.fixture
def rita(server: Live) -> Iterator[Browser]:
    with server.sign_in("responder") as client:
        yield Browser(server, client)


def open_incident(live: Live, title: str = "Checkout errors") -> int:
    with live.client("responder") as client:
        return int(
            client.post("/api/v1/incidents", json={"title": title, "severity": "P2"}).json()["id"]
        )


def test_the_acknowledge_form_acknowledges(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    response = rita.submit(f"/incidents/{incident_id}/ack")
    assert response.status_code == 303
    assert response.headers["location"] == f"/incidents/{incident_id}"
    assert rita.incident(incident_id)["acknowledged_by"] == "rita"


def test_the_acknowledge_form_disappears_once_acknowledged(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    assert 'id="ack-form"' in rita.client.get(f"/incidents/{incident_id}").text
    rita.submit(f"/incidents/{incident_id}/ack")
    assert 'id="ack-form"' not in rita.client.get(f"/incidents/{incident_id}").text


def test_a_form_without_the_csrf_token_changes_nothing(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    response = rita.client.post(f"/incidents/{incident_id}/ack", headers=HTML)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert rita.incident(incident_id)["acknowledged_at"] is None


def test_the_assign_form_sets_the_commander(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    assert rita.submit(f"/incidents/{incident_id}/assign", commander="carol").status_code == 303
    assert rita.incident(incident_id)["commander"] == "carol"


def test_the_severity_form_changes_the_severity(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    assert rita.submit(f"/incidents/{incident_id}/severity", severity="P1").status_code == 303
    assert rita.incident(incident_id)["severity"] == "P1"


def test_the_resolve_form_resolves_with_cause_and_fix(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    response = rita.submit(
        f"/incidents/{incident_id}/resolve", root_cause="bad deploy", resolution="rolled back"
    )
    assert response.status_code == 303
    incident = rita.incident(incident_id)
    assert (incident["status"], incident["root_cause"]) == ("resolved", "bad deploy")


def test_the_close_form_closes_a_resolved_incident(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    rita.submit(f"/incidents/{incident_id}/resolve")
    assert 'id="close-form"' in rita.client.get(f"/incidents/{incident_id}").text
    assert rita.submit(f"/incidents/{incident_id}/close").status_code == 303
    assert rita.incident(incident_id)["status"] == "closed"


def test_closing_an_open_incident_shows_the_conflict_on_a_page(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    response = rita.submit(f"/incidents/{incident_id}/close")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot become closed" in response.text


def test_the_note_form_adds_a_note(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    assert rita.submit(f"/incidents/{incident_id}/notes", text="db-7 is slow").status_code == 303
    last = rita.incident(incident_id)["timeline"][-1]
    assert (last["kind"], last["text"]) == ("note", "db-7 is slow")


def test_the_action_item_forms_add_an_item_and_mark_it_done(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    added = rita.submit(
        f"/incidents/{incident_id}/action-items", text="Alert on pool size", owner="carol"
    )
    assert added.status_code == 303, added.text
    item = rita.incident(incident_id)["action_items"][0]
    assert (item["text"], item["owner"]) == ("Alert on pool size", "carol")
    page = rita.client.get(f"/incidents/{incident_id}").text
    assert f'action="/incidents/{incident_id}/action-items/{item["id"]}"' in page
    done = rita.submit(f"/incidents/{incident_id}/action-items/{item['id']}", status="done")
    assert done.status_code == 303
    assert rita.incident(incident_id)["action_items"][0]["status"] == "done"


def test_the_run_form_offers_the_procedures_and_runs_one_for_the_incident(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    page = rita.client.get(f"/incidents/{incident_id}").text
    assert '<option value="ops|say-hello">ops: Say hello</option>' in page
    response = rita.submit(f"/incidents/{incident_id}/runs", procedure="ops|say-hello")
    assert response.status_code == 303
    run_id = int(response.headers["location"].rsplit("/", 1)[1])
    incident = wait_for(
        lambda: rita.incident(incident_id),
        lambda i: f"Run {run_id} ok" in [e["text"] for e in i["timeline"]],
    )
    assert [r["ref"] for r in incident["runs"]] == [str(run_id)]


def test_the_postmortem_page_shows_the_draft_escaped(rita: Browser) -> None:
    incident_id = open_incident(rita.live, "<b>Checkout</b> errors")
    page = rita.client.get(f"/incidents/{incident_id}/postmortem")
    assert page.status_code == 200
    assert "# Post-mortem: &lt;b&gt;Checkout&lt;/b&gt; errors" in page.text
    assert (
        f'href="/incidents/{incident_id}/postmortem"'
        in rita.client.get(f"/incidents/{incident_id}").text
    )


def test_a_viewer_sees_no_forms_and_may_not_post_them(server: Live) -> None:
    incident_id = open_incident(server)
    with server.sign_in("viewer") as client:
        page = client.get(f"/incidents/{incident_id}").text
        assert "csrf_token" not in page.split("<main", 1)[1]
        assert 'id="postmortem-link"' in page
        token = server.csrf(client)
        response = client.post(
            f"/incidents/{incident_id}/ack", data={"csrf_token": token}, headers=HTML
        )
    assert response.status_code == 403


def test_the_change_form_sets_an_action_items_owner_due_date_and_status(rita: Browser) -> None:
    incident_id = open_incident(rita.live)
    rita.submit(f"/incidents/{incident_id}/action-items", text="Rotate the keys")
    item = rita.incident(incident_id)["action_items"][0]
    path = f"/incidents/{incident_id}/action-items/{item['id']}"
    changed = rita.submit(path, status="dropped", owner="carol", due="2026-12-01")
    assert changed.status_code == 303, changed.text
    item = rita.incident(incident_id)["action_items"][0]
    assert (item["status"], item["owner"]) == ("dropped", "carol")
    assert item["due"].startswith("2026-12-01T00:00:00")
    page = rita.client.get(f"/incidents/{incident_id}").text
    assert 'value="2026-12-01"' in page and "due 2026-12-01" in page
    bad = rita.submit(path, due="next week")
    assert bad.status_code == 400 and "not a date" in bad.text
