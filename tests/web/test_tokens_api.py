"""Users and tokens through the API: admin only, tokens shown once, changes journaled."""

from __future__ import annotations

import uuid

from tests.web.live import Live


def test_an_admin_creates_a_token_that_is_shown_once_and_works(live: Live) -> None:
    name = f"ci-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        created = admin.post("/api/v1/tokens", json={"name": name, "role": "responder"})
        assert created.status_code == 201
        secret = created.json()["token"]
        listed = admin.get("/api/v1/tokens").json()
    assert secret not in str(listed)
    assert any(t["name"] == name and t["prefix"] == secret[:12] for t in listed)
    with live.client() as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me == {"name": f"token:{name}", "role": "responder", "via": "token"}


def test_a_revoked_token_is_refused_at_once(live: Live) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        secret = admin.post("/api/v1/tokens", json={"name": name}).json()["token"]
        assert admin.delete(f"/api/v1/tokens/{name}").json()["revoked"] is True
    with live.client() as client:
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_changes_made_through_the_api_are_journaled_with_the_actor(live: Live) -> None:
    name = f"new-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        admin.post("/api/v1/users", json={"name": name, "password": "long enough!"})
        entries = admin.get("/api/v1/journal", params={"action": "user.add"}).json()
    assert any(e["subject_id"] == name and e["actor"] == "adam" for e in entries)


def test_an_admin_changes_a_role_and_disables_a_user(live: Live) -> None:
    name = f"tmp-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        admin.post("/api/v1/users", json={"name": name, "password": "long enough!"})
        assert (
            admin.put(f"/api/v1/users/{name}/role", json={"role": "responder"}).json()["role"]
            == "responder"
        )
        assert admin.post(f"/api/v1/users/{name}/disable").json()["disabled"] is True
