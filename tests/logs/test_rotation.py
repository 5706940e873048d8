from __future__ import annotations

import gzip
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from opsbook.clock import FakeClock
from opsbook.errors import UsageError
from opsbook.logs.service import HousekeepingRequest, run_cleanup, run_rotate


def aged(path: Path, clock: FakeClock, days: float, content: bytes = b"line\n" * 2000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    when = (clock.now() - timedelta(days=days)).timestamp()
    os.utime(path, (when, when))
    return path


@pytest.fixture
def logs(tmp_path: Path, clock: FakeClock) -> Path:
    root = tmp_path / "logs"
    aged(root / "app.log", clock, 1)
    aged(root / "app-old.log", clock, 10)
    aged(root / "nginx" / "access-old.log", clock, 8)
    aged(root / "archive" / "ancient.log.gz", clock, 40, gzip.compress(b"x" * 1000))
    aged(root / "archive" / "recent.log.gz", clock, 20, gzip.compress(b"y" * 1000))
    aged(root / "notes.txt", clock, 90)
    return root


def test_rotate_without_yes_lists_and_changes_nothing(logs: Path, clock: FakeClock) -> None:
    before = sorted(p.name for p in logs.rglob("*"))
    text, data = run_rotate(HousekeepingRequest([logs]), clock)
    plan = {(Path(f["path"]).name, f["action"]) for f in data["files"]}
    assert plan == {
        ("app-old.log", "compress"),
        ("access-old.log", "compress"),
        ("ancient.log.gz", "delete"),
    }
    assert data["dry_run"] and "--yes" in text
    assert sorted(p.name for p in logs.rglob("*")) == before
    assert data["frees_bytes"] > len(gzip.compress(b"x" * 1000))


def test_rotate_with_yes_compresses_and_deletes(logs: Path, clock: FakeClock) -> None:
    old_mtime = (logs / "app-old.log").stat().st_mtime
    _, data = run_rotate(HousekeepingRequest([logs], yes=True), clock)
    assert not (logs / "app-old.log").exists()
    packed = logs / "app-old.log.gz"
    assert gzip.decompress(packed.read_bytes()) == b"line\n" * 2000
    assert packed.stat().st_mtime == old_mtime
    assert not (logs / "archive" / "ancient.log.gz").exists()
    assert (logs / "archive" / "recent.log.gz").exists() and (logs / "app.log").exists()
    assert (logs / "notes.txt").exists()
    other = logs / "nginx" / "access-old.log.gz"
    freed = 20000 - packed.stat().st_size - other.stat().st_size + len(gzip.compress(b"x" * 1000))
    assert data["frees_bytes"] == freed


def test_a_compressed_file_is_deleted_only_after_its_archive_age(
    logs: Path, clock: FakeClock
) -> None:
    run_rotate(HousekeepingRequest([logs], yes=True), clock)
    clock.advance(timedelta(days=25).total_seconds())
    _, data = run_rotate(HousekeepingRequest([logs], yes=True), clock)
    deleted = {Path(f["path"]).name for f in data["files"] if f["action"] == "delete"}
    assert deleted == {"recent.log.gz", "app-old.log.gz", "access-old.log.gz"}


def test_symlinks_are_never_followed(tmp_path: Path, clock: FakeClock) -> None:
    outside = aged(tmp_path / "outside" / "precious.log", clock, 100)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "link.log").symlink_to(outside)
    (logs / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    _, data = run_rotate(HousekeepingRequest([logs], yes=True), clock)
    assert data["files"] == []
    assert outside.exists()


def test_cleanup_deletes_old_matching_files_largest_first(logs: Path, clock: FakeClock) -> None:
    aged(logs / "big.log", clock, 30, b"z" * 50000)
    request = HousekeepingRequest([logs], patterns=["*.log"], older_than="7d")
    _, listed = run_cleanup(request, clock)
    assert [Path(f["path"]).name for f in listed["files"]] == [
        "big.log",
        "app-old.log",
        "access-old.log",
    ]
    assert listed["frees_bytes"] == 70000
    request.yes = True
    _, done = run_cleanup(request, clock)
    assert all(f["done"] for f in done["files"])
    assert not (logs / "big.log").exists() and (logs / "app.log").exists()


def test_cleanup_needs_a_pattern(logs: Path, clock: FakeClock) -> None:
    with pytest.raises(UsageError, match="pattern"):
        run_cleanup(HousekeepingRequest([logs]), clock)


def test_the_cli_rotate_is_a_dry_run_unless_yes(cli, logs: Path) -> None:
    dry = cli(
        "logs", "rotate", str(logs), "--compress-after", "0s", "--delete-after", "1d", "--json"
    )
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    assert (logs / "app.log").exists()
    both = cli("logs", "rotate", str(logs), "--compress-after", "0s", "--yes", "--dry-run")
    assert "Would free" in both.stdout and (logs / "app.log").exists()
