from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.clock import FakeClock, SystemClock
from opsbook.config.load import config_from_data
from opsbook.runtime import Runtime
from opsbook.storage import Database
from tests.web.live import Live, serve_live


def make_runtime(template: Path, folder: Path, data: dict | None = None, clock=None) -> Runtime:
    path = folder / "opsbook.db"
    shutil.copy(template, path)
    config = config_from_data(data or {}, base_dir=folder)
    return Runtime(config, Database(f"sqlite:///{path}"), clock or SystemClock(), node_id="test")


@pytest.fixture(scope="session")
def live(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the read-mostly API tests; tests that change state use unique names."""
    runtime = make_runtime(_sqlite_template, tmp_path_factory.mktemp("live"))
    with serve_live(runtime) as server:
        yield server
    runtime.db.dispose()


@pytest.fixture
def fresh(_sqlite_template: Path, tmp_path: Path) -> Iterator[Live]:
    """A server of its own on a fake clock, for tests that move time or need a clean store."""
    runtime = make_runtime(_sqlite_template, tmp_path, clock=FakeClock())
    with serve_live(runtime) as server:
        yield server
    runtime.db.dispose()


@pytest.fixture
def serve_with(_sqlite_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start a server with the given config data: `with serve_with({...}) as live: ...`."""
    from contextlib import contextmanager

    @contextmanager
    def start(data: dict, clock=None, factories=()) -> Iterator[Live]:
        runtime = make_runtime(_sqlite_template, tmp_path, data, clock)
        try:
            with serve_live(runtime, factories) as server:
                yield server
        finally:
            runtime.db.dispose()

    return start


OPS_RUNBOOK = Path(__file__).parent / "data" / "ops.md"


@pytest.fixture
def with_ops(serve_with, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """A server whose runbooks are tests/web/data/ops.md (steps write under $SCRATCH)."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    shutil.copy(OPS_RUNBOOK, folder / "ops.md")
    monkeypatch.setenv("SCRATCH", str(tmp_path / "scratch"))
    with serve_with({"runbooks": [str(folder / "*.md")]}) as live:
        yield live


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """scrypt at a lower cost keeps the suite quick; tests/accounts checks the real cost."""
    from opsbook.accounts import passwords

    before = passwords.LOG2_N
    passwords.LOG2_N = 10
    yield
    passwords.LOG2_N = before


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    """One headless Chromium per test module. Playwright's sync API leaves its event loop set as
    the thread's running loop while it lives, so a session-wide browser would break every later
    test that calls `asyncio.run`."""
    from playwright.sync_api import sync_playwright

    from tests.web.browser import ARGS, CHROMIUM, require_chromium

    require_chromium()
    if sys.version_info < (3, 12):
        # An in-process CLI test may have installed a pidfd child watcher bound to a loop that
        # is gone; Playwright starts its driver from a loop of its own.
        asyncio.set_child_watcher(None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) and page; closed after the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
