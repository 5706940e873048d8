"""The pages in a real browser: sign in, dashboard, journal, API docs, status signed out."""

from __future__ import annotations

import pytest

from tests.web.browser import screenshot
from tests.web.live import PASSWORD, PEOPLE, Live

pytestmark = pytest.mark.browser


def sign_in(page, live: Live, role: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/login")
    page.fill("input[name=name]", PEOPLE[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")


def test_signing_in_leads_to_the_dashboard(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/journal")
    assert page.url.startswith(f"{live.url}/login?next=")
    screenshot(page, "login")
    page.fill("input[name=name]", PEOPLE["viewer"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/journal")
    page.goto(f"{live.url}/")
    assert page.locator("#rollup").inner_text().startswith("HEALTHY")
    assert PEOPLE["viewer"] in page.locator("header").inner_text()
    screenshot(page, "dashboard")


def test_a_wrong_password_shows_a_message_on_the_form(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/login")
    page.fill("input[name=name]", PEOPLE["viewer"])
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "wrong user name or password" in page.locator(".flash").inner_text()
    assert page.input_value("input[name=name]") == PEOPLE["viewer"]


def test_the_journal_and_the_api_reference_render(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live, "admin")
    page.goto(f"{live.url}/journal")
    assert "user.sign_in" in page.locator("table").inner_text()
    screenshot(page, "journal")
    page.goto(f"{live.url}/api/docs")
    assert "/api/v1/alerts/alertmanager" in page.locator("main").inner_text()
    screenshot(page, "api-docs")


def test_signing_out_ends_the_session(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live, "responder")
    page.click("header form.who button")
    page.wait_for_url(f"{live.url}/login")
    page.goto(f"{live.url}/")
    assert page.url.startswith(f"{live.url}/login")


def test_the_status_page_is_readable_signed_out(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(f"{live.url}/status")
    assert response is not None and response.status == 200
    assert "Service status" in page.locator("h1").inner_text()
    assert page.locator("header").get_by_text("Sign in").is_visible()
    screenshot(page, "status-signed-out")


def test_every_page_of_the_navigation_renders_for_a_viewer(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from opsbook.web.app import NAV_ITEMS

    sign_in(page, live, "viewer")
    for path, label in NAV_ITEMS:
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.status == 200, (path, response)
        assert page.locator("header nav").get_by_text(label, exact=True).is_visible()
        screenshot(page, f"page-{label}")
