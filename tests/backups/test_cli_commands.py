"""`opsbook backup verify|restore|prune` on an SQLite target, in-process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

CONFIG = """\
backups:
  - name: app
    type: sqlite
    path: app.db
    destination: backups
    retention: {{keep_last: {keep}, keep_daily: 0, keep_weekly: 0, keep_monthly: 0}}
"""


def setup(tmp_path: Path, keep: int = 5) -> None:
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (body TEXT)")
        conn.executemany("INSERT INTO notes VALUES (?)", [("a",), ("b",), ("c",)])
    conn.close()
    (tmp_path / "opsbook.yaml").write_text(CONFIG.format(keep=keep))


def backup(cli) -> dict:  # type: ignore[no-untyped-def, type-arg]
    result = cli("backup", "run", "app", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["backup"]  # type: ignore[no-any-return]


def test_backup_verify_passes_then_exits_1_once_the_file_is_damaged(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    made = backup(cli)
    ok = cli("backup", "verify", str(made["id"]), "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["backup"]["verified"] is True
    Path(made["location"]).write_bytes(b"damaged")
    bad = cli("backup", "verify", str(made["id"]))
    assert bad.exit_code == 1
    assert f"backup #{made['id']} failed verification: checksum mismatch" in bad.stdout


def test_backup_verify_of_an_unknown_id_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    result = cli("backup", "verify", "99")
    assert (result.exit_code, result.stderr.strip()) == (2, "error: no backup #99")


def test_backup_restore_writes_a_new_file_and_refuses_an_existing_one(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    made = backup(cli)
    restored = cli("backup", "restore", str(made["id"]), "--to", "restored.db", "--yes")
    assert restored.exit_code == 0, restored.stderr
    with sqlite3.connect(tmp_path / "restored.db") as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (3,)
    conn.close()
    again = cli("backup", "restore", "app", "--to", "restored.db", "--yes")
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_backup_prune_dry_run_deletes_nothing_and_prune_deletes_what_the_policy_drops(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    setup(tmp_path, keep=5)
    made = [backup(cli) for _ in range(3)]
    setup(tmp_path, keep=1)  # the policy now keeps one backup
    dry = json.loads(cli("backup", "prune", "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True
    assert [(d["id"], d["keep"]) for d in dry["decisions"]] == [
        (made[2]["id"], True),
        (made[1]["id"], False),
        (made[0]["id"], False),
    ]
    assert all(Path(b["location"]).exists() for b in made)
    assert cli("backup", "prune").exit_code == 0
    assert [Path(b["location"]).exists() for b in made] == [False, False, True]
    listed = json.loads(cli("backup", "list", "--json").stdout)["backups"]
    assert [b["id"] for b in listed] == [made[2]["id"]]
    everything = json.loads(cli("backup", "list", "--all", "--json").stdout)["backups"]
    assert [b["pruned_at"] is not None for b in everything] == [False, True, True]
