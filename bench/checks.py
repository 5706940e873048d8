"""Benchmark: thousands of HTTP checks in one process.

Runs N HTTP checks (default 2,000) on a 10 s interval against a local HTTP server (its own
process, so its CPU is not counted) for a few minutes, through the real worker, claims and
batched writer, and reports the worker process's CPU use, the scheduling lag (start time minus
due time) at p50/p99/max, and the store's write rate. Target: p99 lag < 250 ms, < 1 core.

    .venv/bin/python bench/checks.py [--checks 2000] [--interval 10] [--duration 180]
                                     [--warmup 20] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

from opsbook.checks.worker import CheckWorker
from opsbook.config import config_from_data
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    BODY = b"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 2\\r\\n\\r\\nok"
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                writer.write(BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()
    asyncio.run(main())
    """
)


def start_server() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


def machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    head = "\n".join(lscpu.splitlines()[:10])
    ram = psutil.virtual_memory().total / 1024**3
    return f"nproc {os.cpu_count()}, RAM {ram:.1f} GiB, Python {platform.python_version()}\n{head}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


class Pauses:
    """Full garbage collections and event-loop stalls, to explain lag when there is some."""

    def __init__(self) -> None:
        self.gc: list[float] = []
        self.stalls: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:
            self.gc.append(time.perf_counter() - self._started)

    async def watch_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            late = time.perf_counter() - before - 0.01
            if late > 0.05:
                self.stalls.append(late)

    def clear(self) -> None:
        self.gc.clear()
        self.stalls.clear()


async def measure(worker: CheckWorker, args: argparse.Namespace) -> dict[str, float]:
    stop = asyncio.Event()
    pauses = Pauses()
    task = asyncio.create_task(worker.run(stop))
    watcher = asyncio.create_task(pauses.watch_loop(stop))
    await asyncio.sleep(args.warmup)
    worker.stats.lags.clear()
    pauses.clear()
    me = psutil.Process()
    cpu0, wall0 = me.cpu_times(), time.monotonic()
    runs0, written0 = worker.stats.runs, worker.writer.stats.written
    load0 = os.getloadavg()[0]
    others0 = _others_cpu(me)
    await asyncio.sleep(args.duration)
    cpu1, wall1 = me.cpu_times(), time.monotonic()
    runs1, written1 = worker.stats.runs, worker.writer.stats.written
    others1 = _others_cpu(me)
    lags = list(worker.stats.lags)
    claims = list(worker.stats.claim_seconds)
    stop.set()
    await task
    await watcher
    elapsed = wall1 - wall0
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "elapsed": elapsed,
        "cores": busy / elapsed,
        "runs_per_s": (runs1 - runs0) / elapsed,
        "failures": worker.stats.failures,
        "samples_per_s": (written1 - written0) / elapsed,
        "lag_p50_ms": pct(lags, 50) * 1000,
        "lag_p99_ms": pct(lags, 99) * 1000,
        "lag_max_ms": max(lags) * 1000,
        "lags": len(lags),
        "lag_p90_ms": pct(lags, 90) * 1000,
        "claim_p99_ms": pct(claims, 99) * 1000,
        "claim_max_ms": max(claims) * 1000,
        "flushes": worker.writer.stats.flushes,
        "failed_flushes": worker.writer.stats.failed_flushes,
        "load_start": load0,
        "load_end": os.getloadavg()[0],
        "others_cores": (others1 - others0) / elapsed,
        "full_gcs": len(pauses.gc),
        "full_gc_max_ms": max(pauses.gc, default=0.0) * 1000,
        "stalls": len(pauses.stalls),
        "stall_max_ms": max(pauses.stalls, default=0.0) * 1000,
    }


def _others_cpu(me: psutil.Process) -> float:
    """CPU seconds of every other process (to see whether the machine was shared)."""
    total = psutil.cpu_times()
    mine = me.cpu_times()
    return (total.user + total.system) - (mine.user + mine.system)


def last_errors(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    from opsbook.checks.tables import CheckFlip

    with db.read() as session:
        rows = session.execute(
            select(CheckFlip.error, func.count())
            .where(CheckFlip.error.is_not(None))
            .group_by(CheckFlip.error)
        ).all()
    return {str(error): int(count) for error, count in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    server, port = start_server()
    folder = Path(tempfile.mkdtemp(prefix="opsbook-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'opsbook.db'}"
    db = Database(url)
    upgrade(db)
    checks = [
        {
            "name": f"http-{i:05d}",
            "type": "http",
            "url": f"http://127.0.0.1:{port}/c/{i}",
            "interval": args.interval,
            "timeout": 5,
        }
        for i in range(args.checks)
    ]
    config = config_from_data({"checks": checks}, base_dir=folder)
    runtime = Runtime(config, db, node_id="bench")
    worker = CheckWorker(runtime)
    gc.collect()
    gc.freeze()  # as `opsbook watch` does
    print(
        f"{args.checks} HTTP checks every {args.interval:g}s for {args.duration:g}s "
        f"(after {args.warmup:g}s warm-up) on {db.display_url()}",
        flush=True,
    )
    try:
        figures = asyncio.run(measure(worker, args))
        errors = last_errors(db)
    finally:
        server.terminate()
        db.dispose()
    print(machine())
    print(
        f"\nruns/s {figures['runs_per_s']:.1f} (expected {args.checks / args.interval:.1f}), "
        f"failed runs {figures['failures']:.0f}\n"
        f"CPU {figures['cores']:.2f} cores (opsbook process, all threads)\n"
        f"scheduling lag over {figures['lags']:.0f} runs: p50 {figures['lag_p50_ms']:.1f} ms, "
        f"p90 {figures['lag_p90_ms']:.1f} ms, p99 {figures['lag_p99_ms']:.1f} ms, "
        f"max {figures['lag_max_ms']:.1f} ms\n"
        f"claim transactions: p99 {figures['claim_p99_ms']:.0f} ms, "
        f"max {figures['claim_max_ms']:.0f} ms\n"
        f"store writes {figures['samples_per_s']:.0f} samples/s in "
        f"{figures['flushes']:.0f} flushes ({figures['failed_flushes']:.0f} failed)\n"
        f"event loop stalls > 50 ms: {figures['stalls']:.0f} "
        f"(max {figures['stall_max_ms']:.0f} ms); "
        f"full GCs: {figures['full_gcs']:.0f} (max {figures['full_gc_max_ms']:.0f} ms)\n"
        f"load average {figures['load_start']:.2f} -> {figures['load_end']:.2f}; "
        f"other processes used {figures['others_cores']:.2f} cores"
    )
    if errors:
        print("errors that changed a status:", errors)


if __name__ == "__main__":
    main()
