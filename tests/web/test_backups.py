"""Backups through the server: the catalogue, targets against their RPO, and verify or
restore-test a real PostgreSQL backup in the background."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from opsbook.backups.context import BackupContext
from opsbook.backups.run import run_backup
from opsbook.backups.tables import Backup
from tests.services import scratch_postgres
from tests.web.live import Live
from tests.web.test_checks import wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def source_url() -> Iterator[str]:
    """A PostgreSQL database with a table of 500 rows."""
    with scratch_postgres("opsbook_web_backup_src") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
            conn.execute("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 500) g")
        yield url


@pytest.fixture
def with_backup(serve_with, source_url: str, tmp_path: Path) -> Iterator[tuple[Live, Backup]]:  # type: ignore[no-untyped-def]
    """A server with two targets: `main` (PostgreSQL, one good backup) and `never` (none)."""
    (tmp_path / "data").mkdir()
    targets = [
        {
            "name": "main",
            "type": "postgres",
            "url": source_url,
            "destination": str(tmp_path / "backups"),
            "rpo": "1h",
            "rto": "1h",
            "smoke_queries": ["SELECT count(*) FROM users"],
        },
        {
            "name": "never",
            "type": "files",
            "path": str(tmp_path / "data"),
            "destination": str(tmp_path / "backups"),
        },
    ]
    with serve_with({"backups": targets}) as live:
        runtime = live.runtime
        context = BackupContext(runtime.config, runtime.db, runtime.clock, "test", actor="test")
        backup = run_backup(context, "main")
        assert backup.status == "ok", backup.error
        yield live, backup


def finished_task(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """The task a 202 answer started, once it has ended."""
    assert response.status_code == 202, response.text
    task = response.json()["task"]
    assert task["status"] == "running"
    return wait_for(
        lambda: client.get(task["url"]).json()["task"],
        lambda found: found["status"] != "running",
        seconds=60,
    )


def test_the_backup_list_has_size_checksum_verification_and_restore_time(
    with_backup: tuple[Live, Backup],
) -> None:
    live, backup = with_backup
    with live.client("viewer") as client:
        (listed,) = client.get("/api/v1/backups").json()["backups"]
        only_never = client.get("/api/v1/backups", params={"target": "never"}).json()
    assert (listed["id"], listed["target"], listed["status"]) == (backup.id, "main", "ok")
    assert listed["size_bytes"] == Path(backup.location or "").stat().st_size > 0
    assert listed["sha256"] == backup.sha256 and len(listed["sha256"]) == 64
    assert listed["verified"] is True and listed["restore_seconds"] is None
    assert listed["counts"] == {"public.users": 500}
    assert only_never == {"backups": []}


def test_one_backup_is_found_by_its_id(with_backup: tuple[Live, Backup]) -> None:
    live, backup = with_backup
    with live.client("viewer") as client:
        found = client.get(f"/api/v1/backups/{backup.id}")
        missing = client.get("/api/v1/backups/999")
    assert found.json()["backup"]["sha256"] == backup.sha256
    assert missing.status_code == 404 and "no backup #999" in missing.json()["error"]


def test_an_admin_restore_tests_a_backup_in_the_background(
    with_backup: tuple[Live, Backup],
) -> None:
    live, backup = with_backup
    with live.client("admin") as client:
        task = finished_task(client, client.post(f"/api/v1/backups/{backup.id}/restore-test"))
        listed = client.get(f"/api/v1/backups/{backup.id}").json()["backup"]
        targets = {t["name"]: t for t in client.get("/api/v1/backups/targets").json()["targets"]}
        journal = client.get("/api/v1/journal", params={"action": "backup.restore_test"}).json()
    assert (task["kind"], task["status"], task["actor"]) == ("restore-test", "succeeded", "adam")
    assert task["result"]["counts"] == {"public.users": [500, 500]}
    assert listed["restore_seconds"] == task["result"]["restore_seconds"] > 0
    assert listed["last_restore_test"]["within_rto"] is True
    assert targets["main"]["within_rto"] is True
    assert [(e["action"], e["actor"]) for e in journal] == [("backup.restore_test.passed", "adam")]


def test_an_admin_verifies_a_backup_in_the_background(with_backup: tuple[Live, Backup]) -> None:
    live, backup = with_backup
    with live.client("admin") as client:
        task = finished_task(client, client.post(f"/api/v1/backups/{backup.id}/verify"))
        journal = client.get("/api/v1/journal", params={"action": "backup.verify"}).json()
    assert (task["kind"], task["status"], task["error"]) == ("verify", "succeeded", "")
    assert task["result"]["verified"] is True
    assert backup.verified_at is not None
    assert datetime.fromisoformat(task["result"]["verified_at"]) > backup.verified_at
    assert (journal[0]["actor"], journal[0]["details"]["ok"]) == ("adam", True)


def test_a_damaged_backup_fails_verification_and_cannot_be_verified_again(
    with_backup: tuple[Live, Backup],
) -> None:
    live, backup = with_backup
    with open(backup.location or "", "ab") as file:
        file.write(b"garbage")
    with live.client("admin") as client:
        task = finished_task(client, client.post(f"/api/v1/backups/{backup.id}/verify"))
        again = client.post(f"/api/v1/backups/{backup.id}/verify")
        listed = client.get(f"/api/v1/backups/{backup.id}").json()["backup"]
    assert task["status"] == "failed" and "checksum mismatch" in task["error"]
    assert (listed["status"], listed["verified"]) == ("failed", False)
    assert again.status_code == 409 and "it is failed" in again.json()["error"]


def test_verifying_an_unknown_backup_is_404(with_backup: tuple[Live, Backup]) -> None:
    live, _ = with_backup
    with live.client("admin") as client:
        response = client.post("/api/v1/backups/999/restore-test")
    assert response.status_code == 404 and "no backup #999" in response.json()["error"]


def test_a_second_restore_test_of_a_backup_is_refused_while_the_first_runs(
    with_backup: tuple[Live, Backup],
) -> None:
    live, backup = with_backup
    with live.client("admin") as client:
        first = client.post(f"/api/v1/backups/{backup.id}/restore-test")
        second = client.post(f"/api/v1/backups/{backup.id}/restore-test")
        finished_task(client, first)
    assert second.status_code == 409 and "under way already" in second.json()["error"]


def test_a_responder_may_not_verify_or_restore_test(with_backup: tuple[Live, Backup]) -> None:
    live, backup = with_backup
    with live.client("responder") as client:
        verify = client.post(f"/api/v1/backups/{backup.id}/verify")
        restore = client.post(f"/api/v1/backups/{backup.id}/restore-test")
    for response in (verify, restore):
        assert response.status_code == 403 and "admin" in response.json()["error"]


def test_targets_show_the_newest_good_backups_age_against_the_rpo(
    with_backup: tuple[Live, Backup],
) -> None:
    live, backup = with_backup
    with live.client("viewer") as client:
        targets = {t["name"]: t for t in client.get("/api/v1/backups/targets").json()["targets"]}
    main, never = targets["main"], targets["never"]
    assert main["newest_good_id"] == backup.id and main["past_rpo"] is False
    assert 0 <= main["age_seconds"] < 60 and main["rpo_seconds"] == 3600
    assert never["newest_good_id"] is None and never["past_rpo"] is True


def test_the_backups_page_colours_targets_by_rpo_and_the_dashboard_names_the_late_one(
    with_backup: tuple[Live, Backup],
) -> None:
    live, backup = with_backup
    with live.sign_in("viewer") as browser:
        page = browser.get("/backups", headers={"accept": "text/html"}).text
        dashboard = browser.get("/", headers={"accept": "text/html"}).text
    assert 'class="check s-green" data-target="main"' in page
    assert 'class="check s-red" data-target="never"' in page
    assert f'data-backup="{backup.id}"' in page and "Restore test" not in page  # admins only
    operations = dashboard.split('id="operations"', 1)[1]
    assert 'data-target="never"' in operations and 'data-target="main"' not in operations
