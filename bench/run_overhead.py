"""What opsbook adds to each step: 100 trivial shell steps in one run against 100 bare
`bash -c true` spawns, and SQL steps against `psql -c`. Target: at most 15 ms per shell step.

    .venv/bin/python bench/run_overhead.py [--steps 100] [--pg postgresql://postgres@127.0.0.1/postgres]

The run goes through `opsbook.execution.service.start` exactly as `opsbook run` does (SQLite
store in a temporary folder, every step and its output stored, journal entries written, shell
state saved and restored between steps); the procedure is built in memory so the figure is the
engine's alone, not the parser's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from opsbook.config import config_from_data
from opsbook.execution import service
from opsbook.execution.model import RunRequest, RunStatus
from opsbook.execution.process import use_pidfd_child_watcher
from opsbook.runbook.model import Part, Procedure, Runbook, Step, StepKind
from opsbook.runtime import Runtime
from opsbook.storage import Database
from opsbook.storage.migrate import upgrade


def procedure(kind: StepKind, code: str, count: int) -> tuple[Runbook, Procedure]:
    steps = tuple(
        Step(number=n, title=f"step {n}", kind=kind, language=kind.value, code=code, line=n)
        for n in range(1, count + 1)
    )
    proc = Procedure("Bench", "bench", 1, 2, (Part("procedure", "Steps", "steps", 1, steps),))
    return Runbook("Bench", "bench.md", "0" * 64, procedures=(proc,)), proc


def cpu_seconds() -> float:
    """CPU time (user + system) used so far by this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


CPU: dict[str, float] = {}


def run_through_opsbook(folder: Path, kind: StepKind, code: str, count: int, **kw: str) -> float:
    """Seconds per step of one run of `count` identical steps (CPU per step kept in CPU)."""
    config = config_from_data(kw.get("config", {}) or {}, base_dir=folder)  # type: ignore[arg-type]
    db = Database(config.database_url)
    upgrade(db)
    runtime = Runtime(config=config, db=db)
    book, proc = procedure(kind, code, count)
    request = RunRequest(runbook=book, procedure=proc, steps=proc.steps)
    began, cpu = time.perf_counter(), cpu_seconds()
    use_pidfd_child_watcher()  # as `opsbook run` does
    outcome = asyncio.run(service.start(runtime, request, environ=dict(os.environ)))
    elapsed = time.perf_counter() - began
    CPU[kind] = min(CPU.get(kind, 1e9), (cpu_seconds() - cpu) / count)
    db.dispose()
    assert outcome.status is RunStatus.OK, outcome
    return elapsed / count


def bare(argv: list[str], count: int, env: dict[str, str] | None = None) -> float:
    began, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(count):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    CPU[argv[0]] = min(CPU.get(argv[0], 1e9), (cpu_seconds() - cpu) / count)
    return (time.perf_counter() - began) / count


def best_of(times: int, measure) -> float:  # type: ignore[no-untyped-def]
    return min(measure() for _ in range(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--sql-steps", type=int, default=50)
    parser.add_argument(
        "--pg",
        default=os.environ.get("OPSBOOK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N rounds")
    args = parser.parse_args()
    n = args.steps

    with tempfile.TemporaryDirectory() as tmp:
        spawn = best_of(args.repeat, lambda: bare(["bash", "-c", "true"], n))
        rounds = []
        for r in range(args.repeat):
            rounds.append(run_through_opsbook(Path(tmp) / f"shell{r}", StepKind.SHELL, "true", n))
        step = min(rounds)
        print(f"shell: {n} bare `bash -c true` spawns: {spawn * 1000:.2f} ms each")
        print(
            f"shell: {n} steps in one opsbook run:   {step * 1000:.2f} ms each "
            f"(rounds: {', '.join(f'{x * 1000:.2f}' for x in rounds)})"
        )
        print(
            f"shell: overhead per step:             {(step - spawn) * 1000:.2f} ms "
            "(target <= 15 ms)"
        )
        cpu_step, cpu_bare = CPU[StepKind.SHELL], CPU["bash"]
        print(
            f"shell: CPU per step (user+sys, opsbook and bash): {cpu_step * 1000:.2f} ms; "
            f"bare spawn {cpu_bare * 1000:.2f} ms; "
            f"CPU overhead {(cpu_step - cpu_bare) * 1000:.2f} ms"
        )

        psql = shutil.which("psql")
        if psql is None:
            print("sql: psql not installed; skipped")
            return
        m = args.sql_steps
        psql_each = best_of(
            args.repeat, lambda: bare([psql, "-X", "-q", "-d", args.pg, "-c", "SELECT 1"], m)
        )
        sql_rounds = [
            run_through_opsbook(
                Path(tmp) / f"sql{r}",
                StepKind.SQL,
                "SELECT 1;",
                m,
                config={"connections": {"default": args.pg}},  # type: ignore[arg-type]
            )
            for r in range(args.repeat)
        ]
        sql_step = min(sql_rounds)
        print(f"sql: {m} `psql -c 'SELECT 1'` runs:     {psql_each * 1000:.2f} ms each")
        print(
            f"sql: {m} SQL steps in one opsbook run: {sql_step * 1000:.2f} ms each "
            f"(rounds: {', '.join(f'{x * 1000:.2f}' for x in sql_rounds)})"
        )
        print(f"sql: difference per step:            {(sql_step - psql_each) * 1000:+.2f} ms")


if __name__ == "__main__":
    main()
