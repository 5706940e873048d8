"""Runbooks through the API and the pages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.web.browser import screenshot
from tests.web.live import Live


@pytest.fixture
def with_runbooks(serve_with, tmp_path: Path) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    folder = tmp_path / "runbooks"
    folder.mkdir()
    shutil.copy(SEEDS / "000_19d07af439d3ea6b.txt", folder / "studio.md")
    shutil.copy(SEEDS / "004_5964dcd522885a12.txt", folder / "media.md")
    with serve_with({"runbooks": [str(folder / "*.md")]}) as live:
        yield live


def test_the_configured_runbooks_are_listed(with_runbooks: Live) -> None:
    with with_runbooks.client("viewer") as client:
        listed = client.get("/api/v1/runbooks").json()
    assert [r["id"] for r in listed] == ["media", "studio"]
    studio = listed[1]
    assert studio["procedures"] > 5 and studio["steps"] > 10 and len(studio["sha256"]) == 64


def test_a_runbook_is_shown_parsed_with_source_lines(with_runbooks: Live) -> None:
    with with_runbooks.client("viewer") as client:
        book = client.get("/api/v1/runbooks/studio").json()
    restart = next(p for p in book["procedures"] if p["title"] == "Application Restart")
    assert restart["line"] > 0 and restart["parts"]
    steps = [s for part in restart["parts"] for s in part["steps"]]
    assert any("restart" in s["code"] for s in steps)
    assert all(s["line"] > restart["line"] for s in steps)


def test_an_unknown_runbook_is_404(with_runbooks: Live) -> None:
    with with_runbooks.client("viewer") as client:
        response = client.get("/api/v1/runbooks/nope")
    assert response.status_code == 404
    assert "no runbook with id 'nope'" in response.json()["error"]


@pytest.mark.browser
def test_the_runbook_pages_render(page, with_runbooks: Live) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import sign_in

    sign_in(page, with_runbooks, "viewer")
    page.goto(f"{with_runbooks.url}/runbooks")
    page.click("text=Operational Runbooks >> nth=1")
    assert "Application Restart" in page.locator("main").inner_text()
    screenshot(page, "runbook")
