"""Scheduled jobs through the server: list, history, run now, and the schedules pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from opsbook.clock import FakeClock
from opsbook.scheduler import service
from opsbook.secrets import MASK
from tests.web.live import Live
from tests.web.test_checks import wait_for

JOBS = [
    {"name": "hello", "cron": "0 3 * * *", "command": "echo hello from the job"},
    {
        "name": "chatty",
        "cron": "30 4 * * *",
        "command": 'seq 1 3000; echo "done with $API_TOKEN"',
        "env": {"API_TOKEN": "tok-5up3r-s3cret"},
    },
    {"name": "broken", "cron": "*/5 * * * *", "command": "echo cannot; exit 3"},
    {"name": "slow", "cron": "0 0 * * *", "command": "sleep 5"},
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def with_jobs(serve_with, clock: FakeClock) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    with serve_with({"schedules": JOBS}, clock=clock) as live:
        yield live


def run_now(client: httpx.Client, name: str) -> dict[str, Any]:
    """Start a run of `name` and wait for its end; returns the finished run."""
    started = client.post(f"/api/v1/jobs/{name}/run")
    assert started.status_code == 202, started.text
    url = started.json()["url"]
    return wait_for(
        lambda: client.get(url).json()["run"],
        lambda run: run["status"] not in ("running", "queued"),
    )


def jobs_by_name(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {job["name"]: job for job in client.get("/api/v1/jobs").json()["jobs"]}


def test_a_job_run_from_the_api_runs_in_the_server_as_the_person_who_asked(
    with_jobs: Live,
) -> None:
    with with_jobs.client("responder") as client:
        run = run_now(client, "hello")
        journal = client.get(
            "/api/v1/journal", params={"subject_type": "job", "subject_id": "hello"}
        )
    assert (run["status"], run["exit_code"], run["trigger"]) == ("succeeded", 0, "manual")
    assert run["output"] == "hello from the job\n" and run["actor"] == "rita"
    actions = [(e["action"], e["actor"]) for e in journal.json()]
    assert actions == [("job.succeeded", "rita"), ("job.started", "rita")]


def test_the_jobs_list_has_next_run_last_status_last_success_and_the_dead_mans_switch(
    with_jobs: Live, clock: FakeClock
) -> None:
    with with_jobs.client("viewer") as viewer, with_jobs.client("responder") as responder:
        before = jobs_by_name(viewer)["hello"]
        run_now(responder, "hello")
        after = jobs_by_name(viewer)["hello"]
    assert before["last_run"] is None and before["next_fire_at"] is None
    assert after["next_fire_at"] == "2026-01-06T03:00:00Z"
    assert after["last_run"]["status"] == "succeeded"
    assert after["last_success_at"] == "2026-01-05T12:00:00Z"
    assert after["success_due_at"] == "2026-01-06T03:10:00Z"
    assert after["overdue"] is False and after["last_run_failed"] is False


def test_a_job_with_no_success_by_its_due_time_is_overdue(
    with_jobs: Live, clock: FakeClock
) -> None:
    runtime = with_jobs.runtime
    with runtime.db.write() as session:  # the scheduler has seen the job
        service.sync_jobs(session, runtime.config.settings.schedules, clock.now())
    clock.advance(hours=15, minutes=11)  # past 03:00 tomorrow plus 10 min grace
    with with_jobs.client("viewer") as client:
        job = jobs_by_name(client)["hello"]
    assert job["overdue"] is True and job["success_due_at"] == "2026-01-06T03:10:00Z"


def test_a_jobs_history_has_duration_exit_status_and_the_masked_end_of_its_output(
    with_jobs: Live,
) -> None:
    with with_jobs.client("responder") as client:
        run_now(client, "broken")
        run_now(client, "chatty")
        broken = client.get("/api/v1/jobs/broken/history").json()
        chatty = client.get("/api/v1/jobs/chatty/history").json()
    (failed,) = broken["runs"]
    assert (failed["status"], failed["exit_code"]) == ("failed", 3)
    assert failed["duration_seconds"] >= 0 and failed["output_excerpt"] == "cannot\n"
    assert "exited with status 3" in failed["note"] and "output" not in failed
    excerpt = chatty["runs"][0]["output_excerpt"]
    assert len(excerpt) <= 2001 and excerpt.startswith("…")
    assert excerpt.endswith(f"done with {MASK}\n") and "tok-5up3r-s3cret" not in excerpt


def test_a_job_cannot_be_run_again_while_it_runs(with_jobs: Live) -> None:
    with with_jobs.client("responder") as client:
        first = client.post("/api/v1/jobs/slow/run")
        second = client.post("/api/v1/jobs/slow/run")
    assert first.status_code == 202
    assert second.status_code == 409 and "is running now" in second.json()["error"]


def test_a_viewer_cannot_run_a_job(with_jobs: Live) -> None:
    with with_jobs.client("viewer") as client:
        response = client.post("/api/v1/jobs/hello/run")
        history = client.get("/api/v1/jobs/hello/history")
    assert response.status_code == 403 and "responder" in response.json()["error"]
    assert history.json()["runs"] == []


def test_an_unknown_job_or_run_is_404(with_jobs: Live) -> None:
    with with_jobs.client("responder") as client:
        assert client.get("/api/v1/jobs/nope/history").status_code == 404
        assert client.post("/api/v1/jobs/nope/run").status_code == 404
        assert client.get("/api/v1/jobs/hello/runs/999").status_code == 404


def test_the_schedules_pages_colour_a_failed_job_red_and_show_its_history(
    with_jobs: Live,
) -> None:
    with with_jobs.client("responder") as api:
        run_now(api, "broken")
        run_now(api, "hello")
    with with_jobs.sign_in("viewer") as browser:
        listing = browser.get("/schedules", headers={"accept": "text/html"}).text
        detail = browser.get("/schedules/broken", headers={"accept": "text/html"}).text
        dashboard = browser.get("/", headers={"accept": "text/html"}).text
    assert 'class="check s-red" data-job="broken"' in listing
    assert 'class="check s-green" data-job="hello"' in listing
    assert "Run now" not in listing  # viewers only look
    assert "exited with status 3" in detail and "cannot" in detail
    operations = dashboard.split('id="operations"', 1)[1]
    assert 'data-job="broken"' in operations and 'data-job="hello"' not in operations


def test_a_responder_runs_a_job_from_its_page(with_jobs: Live) -> None:
    with with_jobs.sign_in("responder") as browser:
        form = {"csrf_token": with_jobs.csrf(browser)}
        response = browser.post("/schedules/hello/run", data=form)
        assert response.status_code == 303
        assert response.headers["location"] == "/schedules/hello"
    with with_jobs.client("viewer") as client:
        runs = wait_for(
            lambda: client.get("/api/v1/jobs/hello/history").json()["runs"],
            lambda runs: runs and runs[0]["status"] == "succeeded",
        )
    assert runs[0]["actor"] == "rita"
