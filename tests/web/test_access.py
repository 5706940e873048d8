"""Every endpoint that is not public refuses a missing or wrong token and a role too low.

The list of endpoints comes from the server's own OpenAPI document, so a new route cannot be
forgotten: a route must declare its role (or be marked public) to be there at all.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from opsbook.accounts.model import Role
from tests.web.live import Live

METHODS = ("get", "post", "put", "patch", "delete")
EXPECTED_PUBLIC = {("GET", "/health"), ("GET", "/status"), ("GET", "/login"), ("POST", "/login")}


def operations(live: Live) -> list[tuple[str, str, dict[str, Any]]]:
    with live.client("viewer") as client:
        spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method in METHODS
        if (op := item.get(method)) is not None
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_only_the_expected_endpoints_are_public(live: Live) -> None:
    public = {(m, p) for m, p, op in operations(live) if op.get("x-opsbook-public")}
    assert public == EXPECTED_PUBLIC


def test_every_endpoint_declares_who_may_call_it(live: Live) -> None:
    for method, path, op in operations(live):
        assert op.get("x-opsbook-public") or op.get("x-opsbook-role") in {r.value for r in Role}, (
            f"{method} {path} declares no role"
        )


def test_every_protected_endpoint_refuses_a_missing_or_wrong_token(live: Live) -> None:
    checked = 0
    with live.client() as anonymous, live.client() as wrong:
        wrong.headers["Authorization"] = "Bearer opsb_not-a-real-token"
        for method, path, op in operations(live):
            if op.get("x-opsbook-public"):
                continue
            for client in (anonymous, wrong):
                response = client.request(method, concrete(path))
                assert response.status_code == 401, f"{method} {path}: {response.status_code}"
                assert response.json()["ok"] is False
            checked += 1
    assert checked >= 10


def test_every_protected_endpoint_refuses_a_role_that_is_too_low(live: Live) -> None:
    ranks = {r.value: r.rank for r in Role}
    refused = 0
    for method, path, op in operations(live):
        needed = op.get("x-opsbook-role")
        if needed is None:
            continue
        for role in (r.value for r in Role if r.rank < ranks[needed]):
            with live.client(role) as client:
                response = client.request(method, concrete(path))
            assert response.status_code == 403, f"{method} {path} as {role}: {response.text}"
            assert needed in response.json()["error"]
            refused += 1
    assert refused >= 5


def test_a_malformed_authorization_header_is_refused(live: Live) -> None:
    with live.client() as client:
        response = client.get("/api/v1/me", headers={"Authorization": "Basic YWRhbTpwdw=="})
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_each_person_is_who_their_token_says(live: Live, role: str) -> None:
    with live.client(role) as client:
        me = client.get("/api/v1/me").json()
    assert me["role"] == role
    assert me["via"] == "token"
