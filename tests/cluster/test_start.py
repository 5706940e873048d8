"""Starting nodes as processes: a second node on one SQLite file refuses, whichever command."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cluster.harness import OPSBOOK, Node, wait_for

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")}


def test_a_second_node_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    first = Node("first", config, "", tmp_path)  # the store is the config's SQLite file
    try:
        wait_for(lambda: "watching" in first.output(), 60, "the first node to start")
        for command in (["watch"], ["serve", "--port", "0"]):
            second = subprocess.run(
                [*OPSBOOK, *command, "--config", str(config), "--node-id", "second"],
                env=_env(),
                cwd=tmp_path,
                check=False,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1, second.stderr
            assert "another opsbook node (node first" in second.stderr
            assert "a SQLite store serves one node" in second.stderr
        assert first.process.poll() is None
        users = subprocess.run(
            [*OPSBOOK, "user", "list", "--json", "--config", str(config)],
            env=_env(),
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        )
        assert json.loads(users.stdout)["users"] == []  # the refused serve made no first admin
    finally:
        first.stop()
