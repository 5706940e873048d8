"""Real clusters for tests and the benchmark: `opsbook watch` processes on one PostgreSQL, an HTTP
target that counts the requests of every check, and ways to read the store while they run."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import text

from opsbook.storage import Database

ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = (sys.executable, "-m", "opsbook")  # the CLI, as a process
T = TypeVar("T")


class CountingTarget:
    """An HTTP server (aiohttp, in a thread of its own) answering `/c/<check>` with 200 and
    recording when each check called; `/flaky` answers 500 while `failing` is set."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.failing = False
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        assert started.wait(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/c/{name}", self._check)
        app.router.add_get("/flaky", self._flaky)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        self._loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        self._loop.run_forever()

    async def _check(self, request: web.Request) -> web.Response:
        with self._lock:
            self.calls[request.match_info["name"]].append(time.monotonic())
        return web.Response(text="ok")

    async def _flaky(self, request: web.Request) -> web.Response:
        with self._lock:
            self.calls["flaky"].append(time.monotonic())
        return web.Response(status=500 if self.failing else 200, text="flaky")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def snapshot(self) -> dict[str, list[float]]:
        with self._lock:
            return {name: list(times) for name, times in self.calls.items()}

    def close(self) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def checks_config(target: CountingTarget, count: int, interval: float) -> list[dict[str, Any]]:
    return [
        {
            "name": f"c{i:04d}",
            "type": "http",
            "url": f"{target.url}/c/c{i:04d}",
            "interval": f"{interval:g}s",
            "timeout": f"{min(2.0, interval * 0.8):g}s",
        }
        for i in range(count)
    ]


class Node:
    """One `opsbook watch --node-id ID` process; its output goes to `log`."""

    def __init__(self, node_id: str, config: Path, database_url: str, folder: Path) -> None:
        self.id = node_id
        self.log = folder / f"{node_id}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_")}
        env.update(COLUMNS="200", PYTHONUNBUFFERED="1")
        if database_url:  # else the config's store (SQLite by default)
            env["OPSBOOK_DATABASE_URL"] = database_url
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*OPSBOOK, "watch", "--config", str(config), "--node-id", node_id],
                cwd=folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        """kill -9: no goodbye, no released lease, claims left behind."""
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait(10)
        return int(self.process.returncode)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """Nodes sharing one store, and the store read the way an operator would read it."""

    database_url: str
    config: Path
    folder: Path

    def __post_init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.db = Database(self.database_url, pool_size=2)

    def start(self, *node_ids: str) -> list[Node]:
        started = [Node(n, self.config, self.database_url, self.folder) for n in node_ids]
        self.nodes.update((n.id, n) for n in started)
        return started

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
        self.db.dispose()

    def logs(self) -> str:
        """What the nodes printed, and the store's view: for a failed test's message."""
        parts = [f"--- {n.id}\n{n.output()[-4000:]}" for n in self.nodes.values()]
        try:
            parts.append(f"--- leases\n{self.query('SELECT * FROM leases')}")
            parts.append(f"--- nodes\n{self.query('SELECT * FROM cluster_nodes')}")
            outbox = self.query(
                "SELECT id, dedup_key, event, state, attempts, claimed_by, claim_expires_at, "
                "next_attempt_at, last_error FROM notify_outbox ORDER BY id"
            )
            parts.append(f"--- outbox\n{outbox}")
        except Exception as exc:
            parts.append(f"--- store unreachable: {exc}")
        return "\n".join(parts)

    # -- reading the store ----------------------------------------------------------------------

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.db.read() as session:
            return list(session.execute(text(sql), params))

    def leader(self) -> str | None:
        rows = self.query("SELECT holder, expires_at FROM leases WHERE name = 'leader'")
        if not rows:
            return None
        holder, expires = rows[0]
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        return str(holder) if expires > datetime.now(UTC) else None

    def live_nodes(self) -> set[str]:
        now = datetime.now(UTC)
        alive = set()
        for node_id, at, lease, stopped in self.query(
            "SELECT id, heartbeat_at, lease_seconds, stopped_at FROM cluster_nodes"
        ):
            beat = at if at.tzinfo else at.replace(tzinfo=UTC)
            if stopped is None and (now - beat).total_seconds() < lease:
                alive.add(str(node_id))
        return alive

    def outbox(self) -> list[tuple[str, str, str]]:
        """(dedup key, event, state) of every outbox row."""
        rows = self.query("SELECT dedup_key, event, state FROM notify_outbox ORDER BY id")
        return [(str(k), str(e), str(s)) for k, e, s in rows]


def wait_for(
    condition: Callable[[], T | bool | None],
    timeout: float,
    what: str,
    cluster: Cluster | None = None,
    every: float = 0.1,
) -> T:
    """Poll `condition` until it returns something truthy; fail with `what` (and the nodes'
    logs) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except Exception:
            found = None
        if found:
            return found  # type: ignore[return-value]
        if time.monotonic() > deadline:
            logs = cluster.logs() if cluster is not None else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{logs}")
        time.sleep(every)


def gaps(times: Iterable[float], start: float, end: float) -> list[float]:
    """The intervals between consecutive calls within [start, end]."""
    inside = [t for t in times if start <= t <= end]
    return [b - a for a, b in itertools.pairwise(inside)]


CLAIM_LOOKAHEAD = 2.0  # how far ahead a node claims (CheckWorker's lookahead)


def claim_seqs(cluster: Cluster) -> dict[str, int]:
    """Each check's claim counter: it moves on by one for every claim of a run."""
    return {str(n): int(s) for n, s in cluster.query("SELECT name, claim_seq FROM check_state")}


def runs_without_a_claim(
    target: CountingTarget,
    before: dict[str, int],
    after: dict[str, int],
    since: float,
    until: float,
) -> dict[str, tuple[int, int]]:
    """Checks that reached the target more often than they were claimed between `before`
    (read at `since`) and `after` (read after `until`): a run twice of one claim, such as a
    paused node running what it claimed before its pause. Runs of claims made before `since`
    are left out by starting the count one lookahead (and a second of lag) later."""
    calls = target.snapshot()
    found = {}
    for name, seq in after.items():
        runs = sum(since + CLAIM_LOOKAHEAD + 1.0 <= t <= until for t in calls.get(name, []))
        claims = seq - before.get(name, 0)
        if runs > claims:
            found[name] = (runs, claims)
    return found
