"""Runs through the server: start, live output, confirm a waiting dangerous step, cancel."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.web.live import Live
from tests.web.test_checks import wait_for


def _run(client: httpx.Client, run_id: int) -> dict[str, Any]:
    return client.get(f"/api/v1/runs/{run_id}").json()


def test_a_run_started_through_the_api_runs_to_the_end(with_ops: Live) -> None:
    with with_ops.client("responder") as client:
        started = client.post("/api/v1/runs", json={"runbook": "ops", "procedure": "say hello"})
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        run = wait_for(lambda: _run(client, run_id), lambda r: r["status"] != "running")
    assert run["status"] == "ok" and run["operator"] == "rita"
    assert "hello from step one" in run["steps"][0]["output"]


def test_a_viewer_cannot_start_a_run(with_ops: Live) -> None:
    with with_ops.client("viewer") as client:
        response = client.post("/api/v1/runs", json={"runbook": "ops", "procedure": "say hello"})
    assert response.status_code == 403


def test_an_unknown_procedure_is_bad_input(with_ops: Live) -> None:
    with with_ops.client("responder") as client:
        response = client.post("/api/v1/runs", json={"runbook": "ops", "procedure": "nope"})
    assert response.status_code == 404
    assert "nope" in response.json()["error"]


def test_output_arrives_live_as_server_sent_events(with_ops: Live) -> None:
    with with_ops.client("responder") as client:
        run_id = client.post(
            "/api/v1/runs", json={"runbook": "ops", "procedure": "say hello"}
        ).json()["run_id"]
    events: list[tuple[str, Any]] = []
    with (
        with_ops.client("viewer", timeout=30) as client,
        client.stream("GET", f"/api/v1/runs/{run_id}/events") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    text = "".join(data["text"] for kind, data in events if kind == "output")
    assert "hello from step one" in text and "tick 3" in text
    assert events[-1] == ("end", {"status": "ok"})
    assert any(kind == "status" for kind, _ in events)


def test_a_dangerous_step_waits_until_a_responder_confirms_it(with_ops: Live) -> None:
    with with_ops.client("responder") as client:
        run_id = client.post(
            "/api/v1/runs", json={"runbook": "ops", "procedure": "clean up"}
        ).json()["run_id"]
        run = wait_for(lambda: _run(client, run_id), lambda r: r["status"] != "running")
        assert run["status"] == "waiting"
        assert run["steps"][1]["status"] == "waiting" and "rm -rf" in run["steps"][1]["gate"]
        confirmed = client.post(f"/api/v1/runs/{run_id}/steps/2/confirm")
        assert confirmed.status_code == 200, confirmed.text
        run = wait_for(lambda: _run(client, run_id), lambda r: r["status"] != "running")
    assert run["status"] == "ok"
    assert run["steps"][1]["confirmed_by"] == "rita"
    with with_ops.client("viewer") as viewer:
        entries = viewer.get("/api/v1/journal", params={"action": "run."}).json()
    assert any(e["action"] == "run.confirm" and e["actor"] == "rita" for e in entries)


def test_confirming_a_step_that_does_not_wait_is_a_conflict(with_ops: Live) -> None:
    with with_ops.client("responder") as client:
        run_id = client.post(
            "/api/v1/runs", json={"runbook": "ops", "procedure": "say hello"}
        ).json()["run_id"]
        wait_for(lambda: _run(client, run_id), lambda r: r["status"] == "ok")
        response = client.post(f"/api/v1/runs/{run_id}/steps/1/confirm")
    assert response.status_code == 409


@pytest.mark.browser
def test_start_a_run_watch_its_output_and_confirm_the_dangerous_step(page, with_ops: Live) -> None:  # type: ignore[no-untyped-def]
    from tests.web.browser import screenshot
    from tests.web.test_pages import sign_in

    sign_in(page, with_ops, "responder")
    page.goto(f"{with_ops.url}/runbooks/ops")
    screenshot(page, "runbook-ops")
    page.locator("#say-hello form.run-form button").click()
    page.wait_for_url(f"{with_ops.url}/runs/*")
    page.locator('pre[data-output="2"]').get_by_text("tick 3").wait_for()
    page.locator("#run-badge").get_by_text("ok").wait_for()
    screenshot(page, "run-live-output")
    page.goto(f"{with_ops.url}/runbooks/ops")
    page.locator("#clean-up form.run-form button").click()
    page.wait_for_url(f"{with_ops.url}/runs/*")
    assert page.locator("#step-2 .danger-note").inner_text().startswith("needs confirmation")
    confirm = page.locator("#step-2 form.confirm-form button")
    confirm.wait_for()  # the page reloads itself once the run stops to wait
    page.wait_for_load_state()
    screenshot(page, "run-waiting")
    confirm.click()
    page.locator('pre[data-output="2"]').get_by_text("removed").wait_for()
    page.locator("#run-badge").get_by_text("ok").wait_for()
    screenshot(page, "run-confirmed")
