"""Notification delivery: latency from commit to receiver, and throughput of the outbox worker.

Runs against a webhook receiver on 127.0.0.1, on SQLite and on PostgreSQL
(OPSBOOK_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres; a scratch
database is created and dropped). Usage: python bench/notify_delivery.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opsbook import runtime
from opsbook.clock import SystemClock
from opsbook.config import config_from_data
from opsbook.notify import service as notify
from opsbook.notify.destinations import ChannelSet
from opsbook.notify.worker import DeliveryWorker
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade

PG_URL = os.environ.get("OPSBOOK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Receiver(ThreadingHTTPServer):
    request_queue_size = 512
    daemon_threads = True

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                title = body.get("text") or body.get("title")
                with receiver.lock:
                    receiver.arrivals.setdefault(title, time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def wait_for(self, count: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(self.arrivals)} of {count} messages arrived")
            time.sleep(0.001)


class Workers:
    def __init__(self, *workers: DeliveryWorker) -> None:
        self.stop = asyncio.Event()
        self.loop = asyncio.new_event_loop()
        coroutine = runtime.run_workers(list(workers), self.stop)
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(coroutine,))

    def __enter__(self) -> Workers:
        self.thread.start()
        time.sleep(0.3)  # let the workers reach their idle wait
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join()
        self.loop.close()


@contextmanager
def store(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    import psycopg

    name = f"opsbook_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(PG_URL)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def channels_for(receiver: Receiver, scheme: str) -> ChannelSet:
    host = f"127.0.0.1:{receiver.server_address[1]}"
    url = f"slack+http://{host}/hook" if scheme == "slack" else f"json://{host}/hook"
    return ChannelSet.from_config(config_from_data({"channels": {"ops": [url]}}))


def expected_title(n: int) -> str:
    return f"[FIRING] m{n}"


def enqueue(db: Database, channels: ChannelSet, numbers: range) -> None:
    with db.write() as session:
        for n in numbers:
            notify.enqueue(
                session,
                SystemClock(),
                channel="ops",
                key=f"k{n}",
                event="trigger",
                title=f"m{n}",
                body="b",
                channels=channels,
            )


def latency(db: Database, channels: ChannelSet, receiver: Receiver, samples: int) -> list[float]:
    """Seconds from the commit of one queued message to its arrival, one message at a time."""
    worker = DeliveryWorker(db, SystemClock(), channels, node_id="bench")
    delays = []
    with Workers(worker):
        for n in range(samples):
            enqueue(db, channels, range(n, n + 1))
            committed = time.perf_counter()
            receiver.wait_for(n + 1)
            delays.append(receiver.arrivals[expected_title(n)] - committed)
    return delays


def throughput(url: str, channels: ChannelSet, receiver: Receiver, count: int, nodes: int) -> float:
    """Messages per second delivered by `nodes` workers (each with its own engine)."""
    start_at = len(receiver.arrivals) + 10_000
    databases = [Database(url) for _ in range(nodes)]
    enqueue(databases[0], channels, range(start_at, start_at + count))
    workers = [
        DeliveryWorker(d, SystemClock(), channels, node_id=f"n{i}", poll=0.05)
        for i, d in enumerate(databases)
    ]
    before = len(receiver.arrivals)
    started = time.perf_counter()
    with Workers(*workers):
        receiver.wait_for(before + count)
        elapsed = time.perf_counter() - started - 0.3
    for d in databases:
        d.dispose()
    return count / elapsed


def enqueue_cost(db: Database, channels: ChannelSet, count: int) -> float:
    """Milliseconds per enqueue, each in its own committed transaction."""
    started = time.perf_counter()
    for n in range(count):
        enqueue(db, channels, range(50_000 + n, 50_000 + n + 1))
    return (time.perf_counter() - started) * 1000 / count


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(kind: str, messages: int, samples: int) -> list[str]:
    rows = []
    with store(kind) as url:
        db = Database(url)
        upgrade(db)
        receiver = Receiver()
        slack = channels_for(receiver, "slack")
        delays = latency(db, slack, receiver, samples)
        rows.append(
            f"| {kind} | commit → receiver latency, one at a time (n={samples}) | "
            f"p50 {statistics.median(delays) * 1000:.1f} ms, "
            f"p99 {pct(delays, 0.99) * 1000:.1f} ms |"
        )
        db.dispose()
        for nodes in (1, 2) if kind == "postgres" else (1,):
            rate = throughput(url, slack, receiver, messages, nodes)
            rows.append(
                f"| {kind} | throughput, {messages} queued, slack+http, {nodes} worker(s) "
                f"| {rate:.0f} messages/s |"
            )
        apprise = channels_for(receiver, "json")
        rate = throughput(url, apprise, receiver, messages // 2, 1)
        rows.append(
            f"| {kind} | throughput, {messages // 2} queued, Apprise json://, 1 worker "
            f"| {rate:.0f} messages/s |"
        )
        db = Database(url)  # last: nothing delivers these
        rows.append(
            f"| {kind} | enqueue + commit, one message per transaction | "
            f"{enqueue_cost(db, slack, 200):.2f} ms |"
        )
        db.dispose()
        receiver.shutdown()
        receiver.server_close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    print("| store | measure | result |\n|---|---|---|")
    for kind in ("sqlite", "postgres"):
        for row in run(kind, args.messages, args.samples):
            print(row, flush=True)


if __name__ == "__main__":
    sys.exit(main())
