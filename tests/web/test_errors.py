"""One error shape for every endpoint: {"ok": false, "status", "error", "errors"}."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.web.live import Live


def _unique() -> str:
    return f"u{uuid.uuid4().hex[:8]}"


CASES = {
    "401 no token": ("anonymous", "GET", "/api/v1/journal", None, 401),
    "401 wrong token": ("wrong", "GET", "/api/v1/me", None, 401),
    "403 role too low": ("viewer", "GET", "/api/v1/tokens", None, 403),
    "404 unknown route": ("viewer", "GET", "/api/v1/nothing-here", None, 404),
    "404 unknown thing": ("admin", "DELETE", "/api/v1/tokens/no-such-token", None, 404),
    "405 wrong method": ("viewer", "PATCH", "/health", None, 405),
    "400 bad input": (
        "admin",
        "POST",
        "/api/v1/users",
        {"name": "no spaces!", "password": "x" * 9},
        400,
    ),
    "409 conflict": ("admin", "POST", "/api/v1/users", {"name": "adam", "password": "x" * 9}, 409),
    "422 invalid body": ("admin", "POST", "/api/v1/tokens", {"role": "emperor"}, 422),
    "422 invalid query": ("viewer", "GET", "/api/v1/journal?limit=0", None, 422),
}


@pytest.mark.parametrize("case", CASES)
def test_every_error_has_the_same_shape(live: Live, case: str) -> None:
    who, method, path, body, status = CASES[case]
    client = live.client(None if who in {"anonymous", "wrong"} else who)
    if who == "wrong":
        client.headers["Authorization"] = "Bearer opsb_wrong"
    with client:
        response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"ok", "status", "error", "errors"}
    assert payload["ok"] is False
    assert payload["status"] == status
    assert isinstance(payload["error"], str) and payload["error"]
    assert isinstance(payload["errors"], list)


def test_a_validation_error_names_each_field(live: Live) -> None:
    with live.client("admin") as client:
        payload = client.post("/api/v1/tokens", json={"role": "emperor"}).json()
    assert any(line.startswith("name:") for line in payload["errors"])
    assert any(line.startswith("role:") for line in payload["errors"])


def test_a_browser_gets_an_error_page_not_json(live: Live) -> None:
    with live.sign_in("viewer") as client:
        response = client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no such endpoint or page" in response.text


def test_a_browser_that_is_not_signed_in_is_sent_to_the_sign_in_page(live: Live) -> None:
    with httpx.Client(base_url=live.url) as client:
        response = client.get("/journal?action=user.", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/journal%3Faction%3Duser."


def test_an_unexpected_failure_answers_500_in_the_same_shape_with_a_reference(live: Live) -> None:
    from opsbook.web.errors import _unexpected

    class Boom(RuntimeError):
        pass

    import asyncio
    import concurrent.futures

    from starlette.requests import Request

    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/api/v1/x",
            "headers": [],
            "query_string": b"",
            "app": live.app,
        }
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs here
        response = pool.submit(asyncio.run, _unexpected(request, Boom("secret detail"))).result()
    assert response.status_code == 500
    body = response.body.decode()
    assert '"ok":false' in body and "reference" in body and "Boom" in body
    assert "secret detail" not in body
    assert "Unknown" not in body
