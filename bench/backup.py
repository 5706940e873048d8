"""opsbook backup + verify against bare `pg_dump -Fc` + `pg_restore --list` on ~1 GB.

Creates a pgbench database (scale 70, about 1 GB), then runs the two procedures ROUNDS times in
one run, taking turns at going first, and reports each time and the ratio of the medians
(target: at most 1.1).
The bench database is dropped afterwards. Needs PostgreSQL on OPSBOOK_BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) and its client tools.

    .venv/bin/python bench/backup.py [--scale 70] [--rounds 3] [--count-tables 10]

`--count-tables` is the target's `count_tables` (default: opsbook's default); 0 leaves out the
row counts taken beside pg_dump, to show what they cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from opsbook.backups.context import BackupContext
from opsbook.backups.run import run_backup
from opsbook.clock import SystemClock
from opsbook.config import config_from_data
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade

SERVER = os.environ.get("OPSBOOK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def bare(url: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["pg_dump", "--format=custom", f"--file={out}", f"--dbname={url}"], check=True)
    listing = subprocess.run(["pg_restore", "--list", str(out)], check=True, capture_output=True)
    assert listing.stdout
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed


def opsbook(ctx: BackupContext) -> float:
    started = time.perf_counter()
    backup = run_backup(ctx, "bench")
    elapsed = time.perf_counter() - started
    assert backup.status == "ok" and backup.verified, backup.error
    Path(backup.location or "").unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count-tables", type=int, default=None)
    args = parser.parse_args()
    name = f"opsbook_bench_{uuid.uuid4().hex[:8]}"
    url = with_db(SERVER, name)
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        started = time.perf_counter()
        subprocess.run(["pgbench", "-i", "-q", "-s", str(args.scale), url], check=True)
        with psycopg.connect(url) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert size is not None
        took = time.perf_counter() - started
        print(f"pgbench scale {args.scale}: {size[0] / 1e9:.2f} GB in {took:.0f}s")
        run(url, args.rounds, args.count_tables)
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, rounds: int, count_tables: int | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="opsbook-bench-") as folder:
        base = Path(folder)
        store = Database(f"sqlite:///{base / 'opsbook.db'}")
        upgrade(store)
        target: dict[str, object] = {
            "name": "bench",
            "type": "postgres",
            "url": url,
            "destination": "backups",
            "retention": {"keep_last": 100},
        }
        if count_tables is not None:
            target["count_tables"] = count_tables
        config = config_from_data({"backups": [target]}, base_dir=base)
        ctx = BackupContext(config, store, SystemClock(), "bench")
        bare_times, opsbook_times = [], []
        for index in range(rounds):
            # Alternate which goes first, so neither always reads a cache the other warmed.
            if index % 2 == 0:
                bare_times.append(bare(url, base / "bare.dump"))
                opsbook_times.append(opsbook(ctx))
            else:
                opsbook_times.append(opsbook(ctx))
                bare_times.append(bare(url, base / "bare.dump"))
            print(
                f"round {index + 1}: bare {bare_times[-1]:.1f}s, opsbook {opsbook_times[-1]:.1f}s"
            )
        ratio = statistics.median(opsbook_times) / statistics.median(bare_times)
        print(
            f"median: bare {statistics.median(bare_times):.1f}s, "
            f"opsbook {statistics.median(opsbook_times):.1f}s, ratio {ratio:.3f} (target <= 1.1)"
        )
        store.dispose()


if __name__ == "__main__":
    main()
