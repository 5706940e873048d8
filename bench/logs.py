"""Benchmark: `opsbook logs scan` (the full report) against the seeds' shell pipeline.

Generates a combined-format access log of about 1 GB (with nginx's trailing $request_time)
in a temporary folder, then times in one run:

  pipeline:  grep -E "401|403|429" FILE | awk '{print $1}' | sort | uniq -c | sort -rn | head -20
  opsbook:   opsbook logs scan FILE --json          (every figure of the report, one pass)

Each is run REPEAT times; the best and the median are printed. The file is removed at the end.
Usage: python bench/logs.py [SIZE_MB] [REPEAT]
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 3
PIPELINE = 'grep -E "401|403|429" "$1" | awk \'{print $1}\' | sort | uniq -c | sort -rn | head -20'
OPSBOOK = Path(sys.executable).with_name("opsbook")

STATUSES = [200] * 850 + [304] * 30 + [301] * 10 + [404] * 40 + [400] * 20
STATUSES += [401] * 15 + [403] * 10 + [429] * 5 + [500] * 12 + [502] * 4 + [503] * 4
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0",
    "python-requests/2.31.0",
]
ATTACKS = [
    ("GET /search?q=1%27%20UNION%20SELECT%20password%20FROM%20users-- HTTP/1.1", AGENTS[0]),
    ("GET /../../../../etc/passwd HTTP/1.1", AGENTS[3]),
    ("GET /?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1", AGENTS[0]),
    ("GET /wp-login.php HTTP/1.1", "sqlmap/1.7.2#stable (https://sqlmap.org)"),
]


def generate(path: Path, size: int) -> int:
    """Write about `size` bytes of log; returns the number of lines."""
    rng = random.Random(7)
    ips = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(50000)
    ]
    abusers = ips[:20]
    paths = [
        f"/api/v1/{kind}/{n}"
        for kind in ("songs", "users", "orders", "search", "media")
        for n in range(2000)
    ]
    paths += ["/", "/health", "/static/app.js", "/static/app.css", "/api/v1/songs?page=2&sort=new"]
    start = datetime(2026, 1, 5, tzinfo=UTC)
    lines = written = 0
    with path.open("w") as out:
        while written < size:
            chunk = []
            for _ in range(20000):
                when = start + timedelta(seconds=lines // 60)
                stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
                roll = rng.random()
                if roll < 0.0005:
                    request, agent = rng.choice(ATTACKS)
                    ip, status = rng.choice(ips), rng.choice((200, 403, 404))
                elif roll < 0.003:
                    request, agent = "POST /api/auth/login HTTP/1.1", AGENTS[4]
                    ip, status = rng.choice(abusers), 401
                else:
                    request = (
                        f"{rng.choice(('GET', 'GET', 'GET', 'POST'))} {rng.choice(paths)} HTTP/1.1"
                    )
                    agent, ip, status = rng.choice(AGENTS), rng.choice(ips), rng.choice(STATUSES)
                size_sent = rng.randint(200, 60000)
                took = rng.expovariate(1 / 0.08)
                chunk.append(
                    f'{ip} - - [{stamp}] "{request}" {status} {size_sent} '
                    f'"https://example.com/" "{agent}" {took:.3f}\n'
                )
                lines += 1
            text = "".join(chunk)
            out.write(text)
            written += len(text)
    return lines


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all processes of the run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, check=False, stdout=subprocess.DEVNULL)
    if done.returncode not in (0, 1):  # logs scan exits 1 when it found attacks
        raise SystemExit(f"{argv[0]} failed with exit code {done.returncode}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def machine() -> str:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpu.splitlines()
            if line.startswith("Model name")
        ),
        "?",
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores, {model}, {memory:.0f} GiB RAM, load {os.getloadavg()[0]:.2f}"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="opsbook-bench-"))
    log = folder / "access.log"
    try:
        started = time.perf_counter()
        lines = generate(log, SIZE_MB << 20)
        megabytes = log.stat().st_size / 1024**2
        print(f"machine: {machine()}")
        took = time.perf_counter() - started
        print(f"log: {megabytes:.0f} MiB, {lines} lines, generated in {took:.0f}s")
        subprocess.run(["cat", str(log)], check=True, stdout=subprocess.DEVNULL)  # page cache
        pipeline, scan = [], []
        for _ in range(REPEAT):  # interleaved, so both see the same machine load
            pipeline.append(timed(["bash", "-c", PIPELINE, "bench", str(log)]))
            scan.append(timed([str(OPSBOOK), "logs", "scan", str(log), "--json"]))
        for name, runs in (("pipeline (one figure)", pipeline), ("logs scan (full report)", scan)):
            walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
            rate = megabytes / min(walls)
            print(
                f"{name:26s} wall best {min(walls):5.2f}s median {statistics.median(walls):5.2f}s"
                f"  cpu median {statistics.median(cpus):5.2f}s  ({rate:.0f} MiB/s)"
            )
        best = min(r[0] for r in scan) / min(r[0] for r in pipeline)
        print(f"ratio scan/pipeline (best wall): {best:.2f}")
        print(f"machine after: {machine()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
