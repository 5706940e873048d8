"""Benchmark: HTTP checks shared by 1, 2 and 3 `opsbook watch` nodes on one PostgreSQL.

For each node count it starts that many real `opsbook watch` processes on a scratch database with
N HTTP checks against a local HTTP server (its own process, which counts the requests), lets them
warm up, then measures for a while: the check rate the target saw, the scheduling lag and the
claim cost each node reports, the nodes' CPU, the CPU of the PostgreSQL backends serving them, and
the store's commits per run. Run it twice: at a rate the machine keeps up with (overhead per
check), and at more than it can do (the ceiling, and what limits it).

    .venv/bin/python bench/cluster.py [--checks 1000] [--interval 5] [--nodes 1 2 3]
                                      [--warmup 25] [--duration 60]
                                      [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import yaml

from opsbook.storage import Database
from opsbook.storage.migrate import upgrade

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    BODY = b"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 2\\r\\n\\r\\nok"
    count = 0
    async def handle(reader, writer):
        global count
        try:
            while True:
                await reader.readuntil(b"\\r\\n\\r\\n")
                count += 1
                writer.write(BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
    async def report():
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, sys.stdin.readline):
            print(count, flush=True)
    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await report()
    asyncio.run(main())
    """
)
OPSBOOK = (sys.executable, "-m", "opsbook", "watch")
PROGRESS = re.compile(r"(\d+) runs(?: · lag p99 (\d+) ms)?(?: · claim ([\d.]+) ms/run)?")


class Target:
    """The HTTP server, in a process of its own; `requests()` asks it for its count."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def requests(self) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class Result:
    nodes: int
    rate: float  # runs per second the target saw
    lag_p99_ms: float  # worst node
    claim_ms: float  # claim transaction time per run, averaged over nodes
    node_cores: float
    pg_cores: float
    commits_per_run: float


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def backend_pids(admin: str, name: str) -> list[int]:
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
        return [int(r[0]) for r in rows]


def commits(admin: str, name: str) -> int:
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
        return int(row[0]) if row else 0


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def node_cpu(processes: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = psutil.Process(process.pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def last_progress(log: Path) -> tuple[int, float, float]:
    found = PROGRESS.findall(log.read_text(errors="replace"))
    if not found:
        return 0, 0.0, 0.0
    runs, lag, claim = found[-1]
    return int(runs), float(lag or 0), float(claim or 0)


def run(args: argparse.Namespace, count: int, target: Target, folder: Path) -> Result:
    name = f"opsbook_bench_cluster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(args.pg, name)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        db = Database(url)
        upgrade(db)
        db.dispose()
        checks = [
            {
                "name": f"c{i:05d}",
                "type": "http",
                "url": f"http://127.0.0.1:{target.port}/c/{i}",
                "interval": f"{args.interval:g}s",
                "timeout": "2s",
            }
            for i in range(args.checks)
        ]
        config = folder / f"opsbook-{count}.yaml"
        config.write_text(yaml.safe_dump({"data_dir": str(folder / "data"), "checks": checks}))
        env = {**os.environ, "OPSBOOK_DATABASE_URL": url, "COLUMNS": "300"}
        logs = [folder / f"node-{count}-{i}.log" for i in range(count)]
        for i, log in enumerate(logs):
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [*OPSBOOK, "--config", str(config), "--node-id", f"node-{i + 1}"],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=folder,
                    )
                )
        time.sleep(args.warmup)  # a benchmark's warm-up, not a wait for a condition
        pids = backend_pids(args.pg, name)
        before = (time.monotonic(), target.requests(), node_cpu(processes), cpu_seconds(pids))
        commits_before = commits(args.pg, name)
        time.sleep(args.duration)
        after = (time.monotonic(), target.requests(), node_cpu(processes), cpu_seconds(pids))
        commits_after = commits(args.pg, name)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    seconds = after[0] - before[0]
    served = after[1] - before[1]
    progress = [last_progress(log) for log in logs]
    claims = [claim for _, _, claim in progress if claim]
    return Result(
        nodes=count,
        rate=served / seconds,
        lag_p99_ms=max(lag for _, lag, _ in progress),
        claim_ms=sum(claims) / len(claims) if claims else 0.0,
        node_cores=(after[2] - before[2]) / seconds,
        pg_cores=(after[3] - before[3]) / seconds,
        commits_per_run=(commits_after - commits_before) / max(1, served),
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    ram = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, {cpu}, {ram:.1f} GiB RAM, load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--warmup", type=float, default=25.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    wanted = args.checks / args.interval
    print(f"{args.checks} HTTP checks every {args.interval:g}s = {wanted:.0f} runs/s wanted")
    print(f"machine: {machine()}")
    target = Target()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(
                "| nodes | runs/s | of wanted | lag p99 (worst node) | claim per run | "
                "nodes' CPU (cores) | PostgreSQL CPU (cores) | commits per run |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for count in args.nodes:
                r = run(args, count, target, Path(tmp))
                print(
                    f"| {r.nodes} | {r.rate:.0f} | {r.rate / wanted:.0%} | {r.lag_p99_ms:.0f} ms "
                    f"| {r.claim_ms:.2f} ms | {r.node_cores:.2f} | {r.pg_cores:.2f} "
                    f"| {r.commits_per_run:.3f} |",
                    flush=True,
                )
    finally:
        target.close()
    print(f"after: load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
