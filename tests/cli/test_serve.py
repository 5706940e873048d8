"""`opsbook serve` as a real process: starts on a fresh folder, signs in, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


@contextmanager
def _serving(folder: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")}
    with subprocess.Popen(
        [sys.executable, "-m", "opsbook", "serve", "--port", "0", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _read_until(process: subprocess.Popen[str], pattern: str, deadline: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no {pattern!r} in output: {lines}; stderr: {process.stderr.read()}")  # type: ignore[union-attr]


@pytest.mark.slow
def test_serve_example_works_on_a_fresh_folder_and_stops_cleanly(tmp_path: Path) -> None:
    with _serving(tmp_path, "--example") as process:
        lines = _read_until(process, r"First sign-in", time.monotonic() + 30)
        url = re.search(r"serving (http://\S+)", "".join(lines)).group(1)  # type: ignore[union-attr]
        password = re.search(r"password (\S+)", lines[-1]).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url) as client:
            health = client.get("/health").json()
            assert health["status"] in {"healthy", "degraded"}  # checks start as unknown
            names = {c["name"] for c in health["checks"]}
            assert {"store", "disk", "memory", "load", "opsbook-api"} <= names
            page = client.get("/login")
            csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = client.post(
                "/login", data={"name": "admin", "password": password, "csrf_token": csrf}
            )
            assert signed.status_code == 303
            assert client.get("/api/v1/me").json()["role"] == "admin"
            runbooks = {r["id"] for r in client.get("/api/v1/runbooks").json()}
            assert {"database", "host", "redis"} <= runbooks
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "opsbook stopped." in process.stdout.read()  # type: ignore[union-attr]
    config = tmp_path / ".opsbook" / "example.yaml"
    users = subprocess.run(
        [sys.executable, "-m", "opsbook", "user", "list", "--json", "--config", str(config)],
        cwd=tmp_path / ".opsbook",
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"name": "admin"' in users.stdout  # the written config names the same store


@pytest.mark.slow
def test_a_second_start_does_not_make_another_admin(tmp_path: Path) -> None:
    for expected in (True, False):
        with _serving(tmp_path, "--example") as process:
            lines = _read_until(process, r"Stop with Ctrl-C", time.monotonic() + 30)
            assert any("First sign-in" in line for line in lines) is expected
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 0


def test_example_and_config_together_are_bad_input(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--example", "--config", "x.yaml")
    assert result.exit_code == 2
    assert "--example" in result.stderr


def test_the_example_config_adds_postgres_and_redis_only_when_they_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbook.config import load_config
    from opsbook.examples import config as example

    monkeypatch.setattr(example, "POSTGRES", ("127.0.0.1", 1))  # nothing listens on port 1
    with socket.create_server(("127.0.0.1", 0)) as fake_redis:
        monkeypatch.setattr(example, "REDIS", fake_redis.getsockname()[:2])
        path = example.write_example_config(tmp_path, self_url="http://127.0.0.1:9")
    names = [c.name for c in load_config(path, {}).settings.checks]
    assert names == ["disk", "memory", "load", "opsbook-api", "redis"]
