"""Every incident action through the server: the API, its refusals, a run for the incident,
the post-mortem draft, and the incident page's forms in a browser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.live import Live
from tests.web.test_checks import wait_for


@pytest.fixture
def live(with_ops: Live) -> Live:
    return with_ops


def _open(client: httpx.Client, title: str = "Checkout errors") -> int:
    opened = client.post("/api/v1/incidents", json={"title": title, "severity": "P2"})
    assert opened.status_code == 201, opened.text
    return int(opened.json()["id"])


def _kinds(incident: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in incident["timeline"]]


def test_acknowledging_records_who_and_a_second_ack_is_a_conflict(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        acked = client.post(f"/api/v1/incidents/{incident_id}/ack")
        again = client.post(f"/api/v1/incidents/{incident_id}/ack")
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "rita"
    assert again.status_code == 409 and "already acknowledged" in again.json()["error"]


def test_assigning_makes_a_commander_and_a_participant(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        incident = client.post(
            f"/api/v1/incidents/{incident_id}/assign", json={"commander": "sam"}
        ).json()
    assert incident["commander"] == "sam" and "sam" in incident["participants"]
    assert incident["timeline"][-1]["text"] == "Commander: sam"


def test_the_severity_changes_within_the_policy_only(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        raised = client.post(f"/api/v1/incidents/{incident_id}/severity", json={"severity": "P1"})
        same = client.post(f"/api/v1/incidents/{incident_id}/severity", json={"severity": "P1"})
        unknown = client.post(f"/api/v1/incidents/{incident_id}/severity", json={"severity": "P9"})
    assert raised.json()["severity"] == "P1"
    assert same.status_code == 409
    assert unknown.status_code == 400 and "P9" in unknown.text


def test_resolve_then_close_and_close_before_resolve_is_refused(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        early = client.post(f"/api/v1/incidents/{incident_id}/close")
        resolved = client.post(
            f"/api/v1/incidents/{incident_id}/resolve",
            json={"root_cause": "a bad deploy", "resolution": "rolled back"},
        ).json()
        closed = client.post(f"/api/v1/incidents/{incident_id}/close").json()
        after = client.post(f"/api/v1/incidents/{incident_id}/notes", json={"text": "late"})
    assert early.status_code == 409
    assert resolved["status"] == "resolved" and resolved["root_cause"] == "a bad deploy"
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert after.status_code == 200  # notes stay possible for the review


def test_a_note_goes_on_the_timeline_with_its_author(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        incident = client.post(
            f"/api/v1/incidents/{incident_id}/notes", json={"text": "db-7 swapped"}
        ).json()
    note = incident["timeline"][-1]
    assert (note["kind"], note["actor"], note["text"]) == ("note", "rita", "db-7 swapped")


def test_action_items_are_added_completed_and_kept_to_their_incident(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        other = _open(client, "Another")
        added = client.post(
            f"/api/v1/incidents/{incident_id}/action-items",
            json={"text": "Alert on pool saturation", "owner": "sam"},
        )
        assert added.status_code == 201
        [item] = added.json()["action_items"]
        done = client.patch(
            f"/api/v1/incidents/{incident_id}/action-items/{item['id']}", json={"status": "done"}
        ).json()
        wrong = client.patch(
            f"/api/v1/incidents/{other}/action-items/{item['id']}", json={"status": "dropped"}
        )
        bad = client.patch(
            f"/api/v1/incidents/{incident_id}/action-items/{item['id']}", json={"status": "meh"}
        )
    assert done["action_items"][0]["status"] == "done"
    assert wrong.status_code == 404
    assert bad.status_code == 400 and "meh" in bad.text


def test_the_postmortem_draft_holds_the_cause_and_the_action_items(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        client.post(
            f"/api/v1/incidents/{incident_id}/action-items", json={"text": "Add a canary stage"}
        )
        client.post(f"/api/v1/incidents/{incident_id}/resolve", json={"root_cause": "a bad deploy"})
    with live.client("viewer") as viewer:
        draft = viewer.get(f"/api/v1/incidents/{incident_id}/postmortem").json()["markdown"]
        text = viewer.get(
            f"/api/v1/incidents/{incident_id}/postmortem", params={"format": "markdown"}
        )
    assert draft.startswith("# Post-mortem: Checkout errors")
    assert "a bad deploy" in draft and "Add a canary stage" in draft
    assert text.headers["content-type"].startswith("text/markdown") and text.text == draft


def test_a_run_for_the_incident_lands_on_its_timeline(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        started = client.post(
            f"/api/v1/incidents/{incident_id}/runs",
            json={"runbook": "ops", "procedure": "say hello"},
        )
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        incident = wait_for(
            lambda: client.get(f"/api/v1/incidents/{incident_id}").json(),
            lambda i: f"Run {run_id} ok" in [e["text"] for e in i["timeline"]],
        )
        missing = client.post(
            "/api/v1/incidents/99999/runs", json={"runbook": "ops", "procedure": "say hello"}
        )
    assert [r["ref"] for r in incident["runs"]] == [str(run_id)]
    assert _kinds(incident).count("run") >= 3  # started, each step, how it ended
    assert missing.status_code == 404


def test_the_opener_is_the_commander_unless_one_is_named(live: Live) -> None:
    with live.client("responder") as client:
        mine = client.get(f"/api/v1/incidents/{_open(client)}").json()
        named = client.post(
            "/api/v1/incidents", json={"title": "Queue stuck", "severity": "P3", "commander": "sam"}
        ).json()
    assert mine["commander"] == "rita" and named["commander"] == "sam"


def test_an_update_changes_the_impact_and_carries_the_estimate(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        incident = client.post(
            f"/api/v1/incidents/{incident_id}/updates",
            json={"message": "Failing over", "impact": "EU checkout down", "eta": "20 min"},
        ).json()
    [update] = [e for e in incident["timeline"] if e["kind"] == "update"]
    assert incident["impact"] == "EU checkout down"
    assert (update["text"], update["data"]["eta"], update["public"]) == (
        "Failing over",
        "20 min",
        False,
    )


def test_an_update_cannot_resolve_and_a_closed_incident_takes_no_update(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        resolving = client.post(
            f"/api/v1/incidents/{incident_id}/updates",
            json={"message": "fixed", "status": "resolved"},
        )
        client.post(f"/api/v1/incidents/{incident_id}/resolve", json={})
        client.post(f"/api/v1/incidents/{incident_id}/close")
        late = client.post(f"/api/v1/incidents/{incident_id}/updates", json={"message": "x"})
        unknown = client.post(
            f"/api/v1/incidents/{incident_id}/updates", json={"message": "x", "status": "gone"}
        )
    assert resolving.status_code == 400 and "resolve" in resolving.json()["error"]
    assert late.status_code == 409 and "closed" in late.json()["error"]
    assert unknown.status_code == 422 and unknown.json()["errors"][0].startswith("status:")


def test_a_run_without_a_procedure_runs_the_one_the_incident_links(live: Live) -> None:
    with live.client("responder") as client:
        opened = client.post(
            "/api/v1/incidents",
            json={"title": "Greeter", "severity": "P2", "runbook": "runbooks/ops.md#say-hello"},
        ).json()
        started = client.post(f"/api/v1/incidents/{opened['id']}/runs", json={})
        assert started.status_code == 201, started.text
        run = client.get(f"/api/v1/runs/{started.json()['run_id']}").json()
    assert run["procedure"] == "Say hello"


def test_a_run_without_a_procedure_is_refused_when_the_incident_links_none(live: Live) -> None:
    with live.client("responder") as client:
        plain = _open(client)
        elsewhere = client.post(
            "/api/v1/incidents",
            json={"title": "Wiki", "severity": "P2", "runbook": "https://wiki.example/db#down"},
        ).json()["id"]
        none = client.post(f"/api/v1/incidents/{plain}/runs", json={})
        wiki = client.post(f"/api/v1/incidents/{elsewhere}/runs", json={})
        half = client.post(f"/api/v1/incidents/{plain}/runs", json={"runbook": "ops"})
    assert none.status_code == 400 and "no runbook link" in none.json()["error"]
    assert wiki.status_code == 400 and "names no procedure" in wiki.json()["error"]
    assert half.status_code == 400 and "both" in half.json()["error"]
    with live.client("viewer") as viewer:
        assert viewer.get("/api/v1/runs").json() == []


def test_a_viewer_lists_the_action_items_of_one_incident(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        other = _open(client, "Another")
        client.post(f"/api/v1/incidents/{incident_id}/action-items", json={"text": "Add a canary"})
        client.post(f"/api/v1/incidents/{other}/action-items", json={"text": "Not this one"})
    with live.client("viewer") as viewer:
        listed = viewer.get(f"/api/v1/incidents/{incident_id}/action-items").json()
        missing = viewer.get("/api/v1/incidents/99999/action-items")
    assert [(i["text"], i["status"]) for i in listed["action_items"]] == [("Add a canary", "open")]
    assert missing.status_code == 404


def test_actions_from_the_page_and_the_api_are_journaled_with_who_did_them(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
        client.post(f"/api/v1/incidents/{incident_id}/ack")
    with live.sign_in("admin") as browser:
        noted = browser.post(
            f"/incidents/{incident_id}/notes",
            data={"text": "looking at db-7", "csrf_token": live.csrf(browser)},
        )
    assert noted.status_code == 303
    with live.client("viewer") as viewer:
        entries = viewer.get(
            "/api/v1/journal",
            params={"subject_type": "incident", "subject_id": str(incident_id)},
        ).json()
    assert [(e["action"], e["actor"]) for e in reversed(entries)] == [
        ("incident.opened", "rita"),
        ("incident.acknowledged", "rita"),
        ("incident.note", "adam"),
    ]


def test_an_incident_form_without_the_csrf_token_is_refused(live: Live) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
    with live.sign_in("responder") as browser:
        refused = browser.post(f"/incidents/{incident_id}/ack", data={})
    with live.client("viewer") as viewer:
        incident = viewer.get(f"/api/v1/incidents/{incident_id}").json()
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert incident["acknowledged_at"] is None


def test_the_run_form_offers_the_linked_procedure_first(live: Live) -> None:
    with live.client("responder") as client:
        linked = client.post(
            "/api/v1/incidents",
            json={"title": "Clean", "severity": "P2", "runbook": "runbooks/ops.md#clean-up"},
        ).json()["id"]
    with live.sign_in("responder") as browser:
        page = browser.get(f"/incidents/{linked}", headers={"accept": "text/html"}).text
    assert '<option value="ops|clean-up" selected>ops: Clean up (linked)</option>' in page


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "ack", None),
        ("post", "assign", {"commander": "vic"}),
        ("post", "severity", {"severity": "P1"}),
        ("post", "resolve", {}),
        ("post", "close", None),
        ("post", "notes", {"text": "x"}),
        ("post", "action-items", {"text": "x"}),
        ("post", "runs", {"runbook": "ops", "procedure": "say hello"}),
    ],
)
def test_a_viewer_cannot_act_on_an_incident(
    live: Live, method: str, path: str, body: dict[str, Any] | None
) -> None:
    with live.client("responder") as client:
        incident_id = _open(client)
    with live.client("viewer") as viewer:
        response = viewer.request(method, f"/api/v1/incidents/{incident_id}/{path}", json=body)
    assert response.status_code == 403


@pytest.mark.browser
def test_a_responder_acts_on_an_incident_from_its_page(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from tests.web.browser import screenshot
    from tests.web.test_pages import sign_in

    sign_in(page, live, "responder")
    page.goto(f"{live.url}/incidents")
    page.fill("#open-incident input[name=title]", "Payments slow")
    page.click("#open-incident button[type=submit]")
    page.wait_for_url(f"{live.url}/incidents/*")
    incident_id = int(page.url.rsplit("/", 1)[1])
    page.locator("#ack-form button").click()
    page.locator("#incident-status").get_by_text("acknowledged by rita").wait_for()
    page.fill("#update-form textarea[name=message]", "Card provider answers in 4 s; failing over")
    page.select_option("#update-form select[name=status]", "mitigating")
    page.fill("#update-form input[name=impact]", "Payments take 10 s")
    page.locator("#update-form button").click()
    page.locator("#timeline").get_by_text("failing over").wait_for()
    page.locator("#incident-status .badge").get_by_text("mitigating").wait_for()
    assert "Payments take 10 s" in page.locator(".facts").inner_text()
    screenshot(page, "incident-updated")
    page.fill("#assign-form input[name=commander]", "sam")
    page.locator("#assign-form button").click()
    page.locator("#incident-status").get_by_text("commander sam").wait_for()
    page.fill("#action-item-form input[name=text]", "Cache the rates table")
    page.locator("#action-item-form button").click()
    page.locator("#action-items").get_by_text("Cache the rates table").wait_for()
    page.fill("#resolve-form input[name=root_cause]", "a cold cache")
    page.locator("#resolve-form button").click()
    page.locator("#incident-status .badge").get_by_text("resolved").wait_for()
    screenshot(page, "incident-resolved")
    page.locator("#close-form button").click()
    page.locator("#incident-status .badge").get_by_text("closed").wait_for()
    page.locator("a#postmortem-link").click()
    page.wait_for_url(f"{live.url}/incidents/{incident_id}/postmortem")
    assert "a cold cache" in page.locator("main").inner_text()
    screenshot(page, "incident-postmortem")
