"""`opsbook run` on a runbook written here, parsed by the real parser."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

RUNBOOK = """# Ops

## Cache

### Clear Cache

#### Procedure

```bash
# 1. Say hello
echo "hello $WHO"

# 2. Wipe the cache
rm -rf "$CACHE_DIR"/*

# 3. Wait a long time
echo started; sleep 60
```
"""


def _write(tmp_path: Path) -> tuple[Path, Path]:
    book = tmp_path / "ops.md"
    book.write_text(RUNBOOK)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "old").write_text("x")
    return book, cache


def test_without_yes_the_run_waits_at_the_dangerous_step_and_exits_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, cache = _write(tmp_path)
    result = cli("run", str(book), "clear cache", "--var", "WHO=ops", "--var", f"CACHE_DIR={cache}")
    assert result.exit_code == 1
    assert "hello ops" in result.stdout
    assert "needs confirmation: rm -rf" in result.stdout
    assert (cache / "old").exists()


def test_with_yes_the_dangerous_step_runs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, cache = _write(tmp_path)
    result = cli(
        "run", str(book), "Clear Cache/Procedure", "--steps", "1-2", "--yes",
        "--var", "WHO=ops", "--var", f"CACHE_DIR={cache}", "--json",
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert [(s["number"], s["status"]) for s in data["steps"]] == [(1, "ok"), (2, "ok")]
    assert not (cache / "old").exists()


def test_an_injection_through_var_on_the_command_line_stays_inert(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, _ = _write(tmp_path)
    marker = tmp_path / "pwned"
    result = cli("run", str(book), "clear-cache", "--steps", "1", "--var", f"WHO=$(touch {marker})")
    assert result.exit_code == 0
    assert f"hello $(touch {marker})" in result.stdout
    assert not marker.exists()


def test_an_unknown_procedure_exits_2_with_candidates(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, _ = _write(tmp_path)
    result = cli("run", str(book), "clear the cash")
    assert result.exit_code == 2
    assert "Clear Cache" in result.stderr


def test_a_failed_preflight_exits_2_and_names_what_to_supply(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, _ = _write(tmp_path)
    result = cli("run", str(book), "clear cache", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 2
    assert {p["name"] for p in data["preflight"]} == {"WHO", "CACHE_DIR"}


def test_ctrl_c_kills_the_running_step_and_exits_130(tmp_path: Path) -> None:
    book, cache = _write(tmp_path)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "opsbook"), "run", str(book), "clear cache", "--yes",
         "--var", "WHO=ops", "--var", f"CACHE_DIR={cache}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")},
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while "started\n" not in lines:
        assert time.monotonic() < deadline, lines
        lines.append(proc.stdout.readline())
    sleepers = [p for p in psutil.Process(proc.pid).children(recursive=True)]
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 130, rest
    assert "interrupted" in rest
    _, alive = psutil.wait_procs(sleepers, timeout=10)
    assert alive == []


def test_without_a_procedure_the_runnable_ones_are_listed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, _ = _write(tmp_path)
    result = cli("run", str(book), "--json")
    assert result.exit_code == 0
    [proc] = json.loads(result.stdout)["procedures"]
    assert (proc["title"], proc["slug"], proc["steps"]) == ("Clear Cache", "clear-cache", 3)
    assert proc["parts"] == [{"title": "Procedure", "slug": "procedure", "steps": 3}]
