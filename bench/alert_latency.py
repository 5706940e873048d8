"""Alert evaluation and delivery speed with 1,000 rules loaded.

1. Cycle time: one evaluation cycle (lease, snapshot of the store, 1,000 rules, recording)
   over a store holding 10 minutes of samples from 500 checks every 10 s. Target: under 200 ms.
2. Latency: from the moment a rule's `for` ends to the moment a real webhook receiver on
   loopback has the message, with the evaluation worker and the notification delivery worker
   running together in one event loop (as `opsbook watch` runs them). Target: p99 under 1 s.

    .venv/bin/python bench/alert_latency.py [--store sqlite|postgres] [--trials 40]

PostgreSQL runs use a scratch database on $OPSBOOK_TEST_PG_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select

from opsbook.alerts import queries
from opsbook.alerts.notifier import outbox_enqueue
from opsbook.alerts.rules import load_rules
from opsbook.alerts.worker import AlertsWorker, Evaluator
from opsbook.clock import FakeClock, SystemClock
from opsbook.config import load_config
from opsbook.metrics.store import Sample, SeriesCache, write_samples
from opsbook.notify.destinations import ChannelSet, use_channels
from opsbook.notify.tables import OutboxMessage
from opsbook.notify.worker import DeliveryWorker
from opsbook.runtime import run_workers
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade

CHECKS = 500
RULES = 1000


class Receiver:
    """Records when each message arrives, by the rule named in its title."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import json

                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                receiver.arrivals.setdefault(body["title"], time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def config_text(database_url: str, port: int, probes: int) -> str:
    lines = [
        f"database_url: {database_url}",
        "channels:",
        f'  hook: ["json://127.0.0.1:{port}/hook"]',
        "alerting: {interval: 1s, group_interval: 1s, repeat_interval: 1h}",
        "alerts:",
    ]
    for i in range(RULES - probes):
        check = f"c{i % CHECKS}"
        kind = i % 4
        if kind == 0:
            cond = f'error_rate{{check="{check}"}} > 50%'
        elif kind == 1:
            cond = f'p95_latency{{check="{check}"}} > 2s'
        elif kind == 2:
            cond = f'avg(check_duration_seconds{{check="{check}"}}[5m]) > 3s'
        else:
            cond = f'check_up{{check="{check}"}} < 1 and on() disk_usage > 99%'
        lines += [f"  - name: rule_{i}", f"    condition: '{cond}'", "    for: 1m"]
    for p in range(probes):
        lines += [
            f"  - name: probe_{p}",
            f"    condition: 'check_up{{check=\"probe{p}\"}} < 1'",
            "    for: 5s",
            "    channels: [hook]",
        ]
    return "\n".join(lines) + "\n"


def fill(db: Database, now: datetime, minutes: int = 10) -> int:
    """Samples of 500 HTTP checks every 10 s, plus a disk check."""
    cache = SeriesCache()
    written = 0
    start = now - timedelta(minutes=minutes)
    for step in range(minutes * 6):
        at = start + timedelta(seconds=10 * step)
        batch = []
        for c in range(CHECKS):
            labels = {"check": f"c{c}"}
            batch += [
                Sample("check_up", labels, 1.0, at),
                Sample("check_duration_seconds", labels, 0.1 + (c % 10) / 100, at),
                Sample("http_response_status_code", labels, 200.0, at),
            ]
        batch.append(Sample("disk_used_ratio", {"check": "disk", "mount": "/"}, 0.5, at))
        with db.write() as session:
            written += write_samples(session, batch, cache=cache)
    return written


def cycle_time(db: Database, config_path: Path) -> list[float]:
    config = load_config(config_path, env={})
    rules = load_rules(config)
    clock = FakeClock(datetime.now(UTC))
    evaluator = Evaluator(db, clock, rules, node_id="bench", interval=15)
    evaluator.cycle()  # warm: series labels cached, as in a running worker
    times = []
    for _ in range(10):
        clock.advance(15)
        started = time.perf_counter()
        evaluator.cycle()
        times.append((time.perf_counter() - started) * 1000)
    return times


def latency(
    db: Database, config_path: Path, receiver: Receiver, probes: range, *, spacing: float
) -> list[float]:
    """Probe checks start failing `spacing` seconds apart (0: all at once); returns for each
    its delay from the end of its `for` to the receiver, in ms."""
    config = load_config(config_path, env={})
    clock = SystemClock()
    channels = ChannelSet.from_config(config)
    use_channels(channels)
    evaluator = Evaluator(
        db, clock, load_rules(config), node_id="bench", enqueue=outbox_enqueue(), interval=1
    )
    workers = [DeliveryWorker(db, clock, channels, node_id="bench"), AlertsWorker(evaluator)]
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run_workers(workers, stop),))
    thread.start()
    cache = SeriesCache()
    try:
        for p in probes:
            with db.write() as session:
                sample = Sample("check_up", {"check": f"probe{p}"}, 0.0, clock.now())
                write_samples(session, [sample], cache=cache)
            time.sleep(spacing)
        deadline = time.monotonic() + 60
        while len(receiver.arrivals) < probes.stop and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
    delays, parts = [], []
    with db.read() as session:
        for p in probes:
            alert = queries.find(session, f"probe_{p}")
            due = (alert.active_at + timedelta(seconds=5)).timestamp()
            arrived = next(
                t for title, t in receiver.arrivals.items() if title.endswith(f" probe_{p}")
            )
            delays.append((arrived - due) * 1000)
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.title.endswith(f" probe_{p}"))
            ).one()
            assert alert.fired_at is not None and row.last_attempt_at is not None
            parts.append(
                (
                    (alert.fired_at.timestamp() - due) * 1000,
                    (row.last_attempt_at - alert.fired_at).total_seconds() * 1000,
                    (arrived - row.last_attempt_at.timestamp()) * 1000,
                )
            )
    for label, index in (("wake", 0), ("evaluate+commit+claim", 1), ("send", 2)):
        print(f"  {label}: median {statistics.median(p[index] for p in parts):.0f} ms")
    slowest = max(range(len(delays)), key=delays.__getitem__)
    wake, claim, send = parts[slowest]
    print(
        f"  slowest: wake {wake:.0f} ms, evaluate+commit+claim {claim:.0f} ms, send {send:.0f} ms"
    )
    return delays


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new PostgreSQL database on $OPSBOOK_TEST_PG_URL's server, dropped afterwards."""
    import psycopg

    server = os.environ.get("OPSBOOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"opsbook_bench_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.store == "postgres":
            with scratch_postgres() as url:
                run(url, Path(folder), args.trials)
        else:
            run(f"sqlite:///{folder}/bench.db", Path(folder), args.trials)


def run(url: str, folder: Path, trials: int) -> None:
    db = Database(url)
    upgrade(db)
    receiver = Receiver()
    config_path = folder / "opsbook.yaml"
    config_path.write_text(config_text(url, receiver.port, 2 * trials))
    written = fill(db, datetime.now(UTC))
    print(f"store: {db.dialect}, {written} samples of {CHECKS} checks, {RULES} rules")
    times = cycle_time(db, config_path)
    print(
        f"evaluation cycle of {RULES} rules: median {statistics.median(times):.0f} ms, "
        f"max {max(times):.0f} ms (target < 200 ms)"
    )
    print("alerts firing one by one (evaluated every 1 s, one starts failing every 1.5 s):")
    report(latency(db, config_path, receiver, range(trials), spacing=1.5))
    print(f"a burst: {trials} alerts firing in the same evaluation:")
    report(latency(db, config_path, receiver, range(trials, 2 * trials), spacing=0))
    db.dispose()


def report(delays: list[float]) -> None:
    delays = sorted(delays)
    p99 = delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))]
    print(
        f"  `for` ended -> webhook received, {len(delays)} alerts: "
        f"p50 {statistics.median(delays):.0f} ms, p99 {p99:.0f} ms, max {delays[-1]:.0f} ms "
        "(target p99 < 1000 ms)"
    )


if __name__ == "__main__":
    main()
