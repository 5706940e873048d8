"""The server on PostgreSQL: what several nodes share (sessions, tokens, throttling) lives there."""

from __future__ import annotations

import time

import pytest

from opsbook.clock import SystemClock
from opsbook.config.load import config_from_data
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade
from tests.services import scratch_postgres
from tests.web.live import serve_live


@pytest.mark.postgres
def test_two_servers_on_one_postgres_share_sign_ins_and_tokens() -> None:
    with scratch_postgres() as url:
        first_db, second_db = Database(url), Database(url)
        upgrade(first_db)
        first = Runtime(config_from_data({}), first_db, SystemClock(), node_id="a")
        second = Runtime(config_from_data({}), second_db, SystemClock(), node_id="b")
        try:
            with serve_live(first) as a, serve_live(second, people=False) as b:
                with a.sign_in("admin") as browser:
                    session_cookie = browser.cookies["opsbook_session"]
                with b.client() as client:
                    client.cookies.set("opsbook_session", session_cookie)
                    assert client.get("/api/v1/me").json()["name"] == "adam"
                    bearer = {"Authorization": f"Bearer {a.tokens['viewer']}"}
                    assert client.get("/api/v1/me", headers=bearer).json()["role"] == "viewer"
                with a.client("admin") as admin:
                    admin.delete("/api/v1/tokens/vera-token")
                with b.client() as client:  # another node forgets within its 1 s cache
                    deadline = time.monotonic() + 3
                    while client.get("/api/v1/me", headers=bearer).status_code != 401:
                        assert time.monotonic() < deadline, "node b still accepts the token"
                        time.sleep(0.1)
        finally:
            first_db.dispose()
            second_db.dispose()
