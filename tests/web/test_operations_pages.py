"""The schedules and backups pages in a real browser, and the signed-out status page during a
maintenance window."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsbook.backups.context import BackupContext
from opsbook.backups.run import run_backup
from opsbook.clock import FakeClock
from tests.web.browser import screenshot
from tests.web.live import Live
from tests.web.test_checks import wait_for
from tests.web.test_jobs import run_now
from tests.web.test_pages import sign_in

pytestmark = pytest.mark.browser

MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def operations(serve_with, tmp_path: Path) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """Two jobs that have run (one failed), a SQLite target with one backup, and a weekly
    maintenance window open now on the Database component."""
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE songs (id INTEGER PRIMARY KEY, title TEXT)")
        conn.executemany(
            "INSERT INTO songs (title) VALUES (?)", [(f"song {i}",) for i in range(50)]
        )
    config = {
        "schedules": [
            {"name": "nightly-vacuum", "cron": "0 3 * * *", "command": "echo vacuumed 12 tables"},
            {"name": "cert-check", "cron": "*/30 * * * *", "command": "echo expired; exit 2"},
        ],
        "backups": [
            {
                "name": "app-db",
                "type": "sqlite",
                "path": str(tmp_path / "app.db"),
                "destination": str(tmp_path / "backups"),
                "rpo": "1d",
                "rto": "5m",
            }
        ],
        "checks": [
            {"name": "pg", "type": "tcp", "host": "127.0.0.1", "port": 9, "group": "Database"},
        ],
        "maintenance": [
            {
                "name": "Database upgrade",
                "days": ["monday"],
                "time": "11:00-13:00",
                "matchers": ['group="Database"'],
                "comment": "Writes may pause for a minute while we move to PostgreSQL 17.",
            }
        ],
    }
    with serve_with(config, clock=FakeClock(MONDAY_NOON)) as live:
        with live.client("responder") as client:
            run_now(client, "nightly-vacuum")
            run_now(client, "cert-check")
        runtime = live.runtime
        context = BackupContext(runtime.config, runtime.db, runtime.clock, "test", actor="test")
        assert run_backup(context, "app-db").status == "ok"
        yield live


def wait_for_task(page, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Reload the backups page until the newest task of `kind` has finished."""

    def newest() -> str:
        page.reload()
        return page.locator("#tasks tr", has_text=kind).first.inner_text()

    text = wait_for(newest, lambda t: "running" not in t.lower(), seconds=30)
    assert "succeeded" in text.lower(), text


def test_schedules_backups_and_the_status_page_during_maintenance(page, operations: Live) -> None:  # type: ignore[no-untyped-def]
    live = operations
    sign_in(page, live, "admin")
    page.click("header nav a:text('Schedules')")
    page.wait_for_url(f"{live.url}/schedules")
    assert "s-red" in (page.locator("tr[data-job=cert-check]").get_attribute("class") or "")
    assert "s-green" in (page.locator("tr[data-job=nightly-vacuum]").get_attribute("class") or "")
    assert "in 15h" in page.locator("tr[data-job=nightly-vacuum]").inner_text()
    screenshot(page, "schedules")
    page.click("tr[data-job=cert-check] a")
    page.wait_for_url(f"{live.url}/schedules/cert-check")
    page.click("#history details summary")
    assert "expired" in page.locator("#history pre.output").inner_text()
    assert "exited with status 2" in page.locator("#history").inner_text()
    screenshot(page, "schedule-detail")

    page.click("header nav a:text('Backups')")
    page.wait_for_url(f"{live.url}/backups")
    assert "s-green" in (page.locator("tr[data-target=app-db]").get_attribute("class") or "")
    with page.expect_navigation():  # the form posts, then the page comes back
        page.click("tr[data-backup] button:text('Verify')")
    wait_for_task(page, "verify")
    with page.expect_navigation():  # the form posts, then the page comes back
        page.click("tr[data-backup] button:text('Restore test')")
    wait_for_task(page, "restore-test")
    row = page.locator("tr[data-backup]").first.inner_text().lower()
    assert "verified" in row and "passed" in row
    screenshot(page, "backups")

    page.goto(f"{live.url}/")
    assert "cert-check" in page.locator("#operations").inner_text()
    screenshot(page, "dashboard-operations")

    page.click("header form.who button")  # sign out
    page.wait_for_url(f"{live.url}/login")
    page.goto(f"{live.url}/status")
    assert "Maintenance in progress: Database upgrade" in page.locator("main").inner_text()
    component = page.locator(".component", has_text="Database").inner_text()
    assert "UNDER MAINTENANCE" in component.upper()
    assert page.locator("header").get_by_text("Sign in").is_visible()
    screenshot(page, "status-maintenance")
