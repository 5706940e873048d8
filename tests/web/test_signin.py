"""Web sign-in: the session cookie, CSRF on every form, throttling, and sign-out."""

from __future__ import annotations

import httpx

from opsbook.clock import FakeClock
from tests.web.live import PASSWORD, PEOPLE, Live, form_csrf


def _post_login(client: httpx.Client, name: str, password: str) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": form_csrf(page)}
    )


def test_signing_in_sets_an_httponly_samesite_session_cookie(live: Live) -> None:
    with httpx.Client(base_url=live.url) as client:
        response = _post_login(client, "vera", PASSWORD)
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if "opsbook_session=" in h)
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http on loopback


def test_cookies_are_secure_when_served_over_https_behind_a_trusted_proxy(serve_with) -> None:  # type: ignore[no-untyped-def]
    https = {"X-Forwarded-Proto": "https"}
    with (
        serve_with({"server": {"trusted_proxies": ["127.0.0.1"]}}) as live,
        httpx.Client(base_url=live.url, headers=https) as client,
    ):
        page = client.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        csrf = form_csrf(page)
        response = client.post(
            "/login",
            data={"name": "vera", "password": PASSWORD, "csrf_token": csrf},
            headers={"Cookie": f"opsbook_login_csrf={csrf}"},
        )
    cookie = next(h for h in response.headers.get_list("set-cookie") if "opsbook_session=" in h)
    assert "Secure" in cookie


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(live: Live) -> None:
    with httpx.Client(base_url=live.url) as client:
        unknown = _post_login(client, "nobody", PASSWORD)
        wrong = _post_login(client, "rita", "not her password")
    assert unknown.status_code == wrong.status_code == 401
    assert "wrong user name or password" in unknown.text
    assert "wrong user name or password" in wrong.text


def test_the_sign_in_form_needs_its_csrf_token(live: Live) -> None:
    with httpx.Client(base_url=live.url) as client:
        client.get("/login")
        response = client.post(
            "/login", data={"name": "vera", "password": PASSWORD, "csrf_token": "forged"}
        )
    assert response.status_code == 403
    assert "opsbook_session" not in response.headers.get("set-cookie", "")


def test_a_form_posted_without_the_session_csrf_token_is_refused(live: Live) -> None:
    with live.sign_in("admin") as client:
        refused = client.post("/logout", data={})
        forged = client.post("/logout", data={"csrf_token": "forged"})
        assert refused.status_code == forged.status_code == 403
        assert "CSRF" in refused.json()["error"]
        accepted = client.post("/logout", data={"csrf_token": live.csrf(client)})
        assert accepted.status_code == 303
        assert client.get("/api/v1/me").status_code == 401  # the session has ended


def test_an_api_call_with_the_session_cookie_needs_the_csrf_header(live: Live) -> None:
    payload = {"receiver": "r", "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}
    with live.sign_in("responder") as client:
        path = "/api/v1/alerts/alertmanager"
        assert client.post(path, json=payload).status_code == 403
        ok = client.post(path, json=payload, headers={"X-CSRF-Token": live.csrf(client)})
        assert ok.status_code == 200


def test_the_next_page_must_be_on_this_site(live: Live) -> None:
    with httpx.Client(base_url=live.url) as client:
        page = client.get("/login?next=//evil.example/x")
        response = client.post(
            "/login",
            data={
                "name": "vera",
                "password": PASSWORD,
                "csrf_token": form_csrf(page),
                "next": "//evil.example/x",
            },
        )
    assert response.headers["location"] == "/"


def test_too_many_failures_throttle_sign_in_until_the_window_passes(fresh: Live) -> None:
    clock = fresh.runtime.clock
    assert isinstance(clock, FakeClock)
    with httpx.Client(base_url=fresh.url) as client:
        for _ in range(5):
            assert _post_login(client, "vera", "guess-guess").status_code == 401
        throttled = _post_login(client, "vera", PASSWORD)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        clock.advance(901)
        assert _post_login(client, "vera", PASSWORD).status_code == 303


def test_signing_in_and_out_is_journaled(fresh: Live) -> None:
    with fresh.sign_in("viewer") as client:
        client.post("/logout", data={"csrf_token": fresh.csrf(client)})
    with fresh.client("admin") as admin:
        actions = [(e["action"], e["actor"]) for e in admin.get("/api/v1/journal").json()]
    assert ("user.sign_in", PEOPLE["viewer"]) in actions
    assert ("user.sign_out", PEOPLE["viewer"]) in actions
