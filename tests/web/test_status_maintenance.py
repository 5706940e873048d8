"""Maintenance windows on the public status page: open and upcoming ones, the components they
cover shown as under maintenance, and nothing of the window's internals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsbook.clock import FakeClock
from opsbook.runtime import Runtime, worker_factories
from opsbook.web.maintenance_status import maintenance_windows
from tests.web.conftest import make_runtime
from tests.web.live import Live
from tests.web.target import Target
from tests.web.test_checks import wait_for

MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CHECKS = [
    {"name": "pg", "type": "tcp", "host": "127.0.0.1", "port": 9, "group": "Database"},
    {"name": "pg-replica", "type": "tcp", "host": "127.0.0.1", "port": 9, "group": "Database"},
    {
        "name": "web",
        "type": "tcp",
        "host": "127.0.0.1",
        "port": 9,
        "group": "Website",
        "labels": {"team": "infra-7"},
    },
]
COMPONENT = re.compile(
    r'<div class="component"><span>(?P<name>[^<]+?) (?:<small>[^<]*</small>)?</span>'
    r'<span class="badge s-(?P<status>\w+)">(?P<label>[^<]+)</span></div>'
)


def components(page: str) -> dict[str, tuple[str, str]]:
    """Each component on the status page: its status class and the label it shows."""
    return {m["name"]: (m["status"], m["label"]) for m in COMPONENT.finditer(page)}


def public_page(live: Live) -> str:
    with live.client() as anonymous:
        response = anonymous.get("/status", headers={"accept": "text/html"})
    assert response.status_code == 200
    return response.text.split("<main>", 1)[1]


@pytest.fixture
def windows_runtime(_sqlite_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A runtime on a fake clock for the given `maintenance:` windows."""
    made: list[Runtime] = []

    def make(windows: list[dict[str, Any]], now: datetime = MONDAY_NOON) -> Runtime:
        data = {"checks": CHECKS, "maintenance": windows}
        runtime = make_runtime(_sqlite_template, tmp_path, data, FakeClock(now))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.db.dispose()


def shown(runtime: Runtime) -> list[tuple[str, str, str, bool, tuple[str, ...]]]:
    with runtime.db.read() as session:
        found = maintenance_windows(runtime, session).maintenance
    return [
        (m.title, f"{m.starts_at:%a %H:%M}", f"{m.ends_at:%a %H:%M}", m.active, m.components)
        for m in found
    ]


def test_weekly_windows_follow_their_time_zone_and_run_past_midnight(windows_runtime) -> None:  # type: ignore[no-untyped-def]
    runtime = windows_runtime(
        [
            {"name": "nightly", "days": ["sunday"], "time": "23:00-01:00"},
            {
                "name": "berlin",
                "days": ["wednesday"],
                "time": "02:00-04:00",
                "timezone": "Europe/Berlin",
            },
        ],
        now=datetime(2026, 1, 5, 0, 30, tzinfo=UTC),  # Monday 00:30: Sunday's window is open
    )
    assert shown(runtime) == [
        ("nightly", "Sun 23:00", "Mon 01:00", True, ("Database", "Website")),
        ("berlin", "Wed 01:00", "Wed 03:00", False, ("Database", "Website")),
    ]


def test_cron_and_one_off_windows_show_only_when_open_or_within_a_week(windows_runtime) -> None:  # type: ignore[no-untyped-def]
    soon, later = MONDAY_NOON + timedelta(days=2), MONDAY_NOON + timedelta(days=30)
    runtime = windows_runtime(
        [
            {"name": "noon", "cron": "0 12 * * *", "duration": "30m"},
            {"name": "monthly", "cron": "0 3 1 * *", "duration": "2h"},
            {
                "name": "soon",
                "start": soon.isoformat(),
                "end": (soon + timedelta(hours=1)).isoformat(),
            },
            {
                "name": "later",
                "start": later.isoformat(),
                "end": (later + timedelta(hours=1)).isoformat(),
            },
            {"name": "past", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T02:00:00Z"},
        ]
    )
    assert [(title, start, end, active) for title, start, end, active, _ in shown(runtime)] == [
        ("noon", "Mon 12:00", "Mon 12:30", True),
        ("soon", "Wed 12:00", "Wed 13:00", False),
    ]


def test_a_window_covers_the_check_groups_its_matchers_match(windows_runtime) -> None:  # type: ignore[no-untyped-def]
    runtime = windows_runtime(
        [
            {
                "name": "by-group",
                "days": "daily",
                "time": "11:00-13:00",
                "matchers": ['group="Website"'],
            },
            {
                "name": "by-check",
                "days": "daily",
                "time": "11:00-13:00",
                "matchers": ['check=~"pg.*"'],
            },
            {
                "name": "warnings",
                "days": "daily",
                "time": "11:00-13:00",
                "matchers": ['severity="warning"'],
            },
        ]
    )
    assert [(title, covered) for title, _, _, _, covered in shown(runtime)] == [
        ("by-group", ("Website",)),
        ("by-check", ("Database",)),
        ("warnings", ()),
    ]


@pytest.fixture
def with_windows(serve_with) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    windows = [
        {
            "name": "Database upgrade",
            "days": ["monday"],
            "time": "11:00-13:00",
            "matchers": ['group="Database"'],
            "comment": "Moving to PostgreSQL 17; writes may pause for a minute.",
        },
        {
            "name": "Network work",
            "start": "2026-01-07T22:00:00Z",
            "end": "2026-01-08T01:00:00Z",
            "matchers": ['check="web", team="infra-7"'],
            "comment": "Our provider replaces a switch.",
        },
    ]
    with serve_with({"checks": CHECKS, "maintenance": windows}, clock=FakeClock()) as live:
        yield live


def test_the_status_page_shows_an_open_window_and_its_components_under_maintenance(
    with_windows: Live,
) -> None:
    page = public_page(with_windows)
    open_now = page.split('class="panel maintenance-now"', 1)[1].split("</section>", 1)[0]
    assert "Maintenance in progress: Database upgrade" in open_now
    assert "Moving to PostgreSQL 17" in open_now
    assert "2026-01-05 11:00:00 UTC – 2026-01-05 13:00:00 UTC · Database" in open_now
    assert components(page) == {
        "Database": ("maintenance", "under maintenance"),
        "Website": ("degraded", "degraded"),  # no results yet: unknown, so degraded
    }


def test_the_status_page_lists_upcoming_maintenance(with_windows: Live) -> None:
    page = public_page(with_windows)
    upcoming = page.split('id="maintenance"', 1)[1].split("</section>", 1)[0]
    assert "Network work" in upcoming and "Our provider replaces a switch." in upcoming
    assert "2026-01-07 22:00:00 UTC – 2026-01-08 01:00:00 UTC · Website" in upcoming
    assert "Database upgrade" not in upcoming


def test_the_status_page_shows_nothing_internal_of_a_window(with_windows: Live) -> None:
    page = public_page(with_windows)
    for internal in ("infra-7", "team", "group=", "check=", "matchers", "pg-replica"):
        assert internal not in page


def test_a_component_under_maintenance_shows_no_outage(serve_with) -> None:  # type: ignore[no-untyped-def]
    target = Target()
    target.status = 503
    now = datetime.now(UTC)
    window = {
        "name": "API deploy",
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
        "matchers": ['group="API"'],
    }
    with target.running() as url:
        checks = [
            {
                "name": "api",
                "type": "http",
                "url": url,
                "interval": "1s",
                "timeout": "500ms",
                "group": "API",
            }
        ]
        config = {"checks": checks, "maintenance": [window], "metrics": {"flush_interval": "100ms"}}
        with serve_with(config, factories=worker_factories()) as live:
            with live.client("viewer") as client:
                wait_for(
                    lambda: client.get("/api/v1/checks").json(),
                    lambda found: found and found[0]["status"] == "unhealthy",
                )
            page = public_page(live)
    assert components(page) == {"API": ("maintenance", "under maintenance")}
    assert "Maintenance in progress" in page and "Major outage" not in page
