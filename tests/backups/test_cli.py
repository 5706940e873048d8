from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.postgres

LIMIT_BYTES = 1024 * 1024


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "opsbook.yaml"
    config.write_text(
        f"backups:\n  - name: main\n    type: postgres\n    url: {url}\n    destination: backups\n"
    )
    return config


def opsbook(config: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "opsbook", *args, "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,
        cwd=config.parent,
    )


def test_a_full_destination_leaves_the_previous_backup_and_records_the_failure(
    source_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, source_url)
    good = opsbook(config, "backup", "run", "main", "--json")
    assert good.returncode == 0, good.stderr
    good_backup = json.loads(good.stdout)["backup"]
    with psycopg.connect(source_url, autocommit=True) as conn:  # now larger than the limit
        conn.execute(
            "CREATE TABLE blobs AS SELECT g AS id, "
            "(SELECT string_agg(md5(random()::text || g || s), '') FROM generate_series(1, 40) s) "
            "AS body FROM generate_series(1, 2000) g"
        )
    full = opsbook(config, "backup", "run", "main", "--json", limit=LIMIT_BYTES)
    assert full.returncode == 1
    failed = json.loads(full.stdout)["backup"]
    assert failed["status"] == "failed" and "SIGXFSZ" in failed["error"]
    listed = json.loads(opsbook(config, "backup", "list", "--json").stdout)["backups"]
    assert [(b["id"], b["status"]) for b in listed] == [
        (failed["id"], "failed"),
        (good_backup["id"], "ok"),
    ]
    assert set(listed[1]) >= {
        "id",
        "target",
        "status",
        "size_bytes",
        "sha256",
        "verified",
        "restore_seconds",
    }
    assert [p.name for p in (tmp_path / "backups" / "main").iterdir()] == [
        Path(good_backup["location"]).name
    ]
    assert Path(good_backup["location"]).stat().st_size == good_backup["size_bytes"]


def test_list_json_gives_the_last_restore_tests_time(source_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, source_url)
    assert opsbook(config, "backup", "run", "main").returncode == 0
    tested = opsbook(config, "backup", "restore-test", "main", "--json")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    [item] = json.loads(opsbook(config, "backup", "list", "--json").stdout)["backups"]
    assert item["verified"] is True and item["restore_seconds"] > 0
    assert item["restore_seconds"] == json.loads(tested.stdout)["restore_test"]["restore_seconds"]
