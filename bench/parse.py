"""Parsing the five seed runbooks against markdown-it-py's bare tokenisation of the same text.

    .venv/bin/python bench/parse.py [--rounds N]

One run times, interleaved round by round so that a busy machine disturbs all three alike:
  parse      opsbook.runbook.parse.parse_text on each seed (decode already done)
  gfm        markdown-it-py with the plugins opsbook uses (tables, task lists): tokens only
  bare       MarkdownIt("commonmark").parse: tokens only
CPU time of this process (time.process_time) is used, so other processes' load counts less.
The target is parse <= 3x bare.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from markdown_it import MarkdownIt

from opsbook.runbook.document import tokenize
from opsbook.runbook.parse import parse_text

SEEDS = Path(__file__).resolve().parents[1] / "tests" / "seeds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    bare = MarkdownIt("commonmark")
    runs: dict[str, Callable[[], object]] = {
        "parse": lambda: [parse_text(t) for t in texts],
        "gfm": lambda: [tokenize(t) for t in texts],
        "bare": lambda: [bare.parse(t) for t in texts],
    }
    for run in runs.values():  # warm caches and imports
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            gc.collect()
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    size = sum(len(t.encode()) for t in texts)
    print(f"{len(texts)} seeds, {size / 1024:.0f} KiB, {args.rounds} rounds (CPU time per round)")
    for name, values in times.items():
        print(
            f"  {name:6} min {min(values) * 1000:7.1f} ms   "
            f"median {statistics.median(values) * 1000:7.1f} ms"
        )
    for base in ("bare", "gfm"):
        ratio_min = min(times["parse"]) / min(times[base])
        ratio_median = statistics.median(times["parse"]) / statistics.median(times[base])
        print(f"  parse / {base}: {ratio_min:.2f}x (min), {ratio_median:.2f}x (median)")
    verdict = "within" if min(times["parse"]) / min(times["bare"]) <= 3 else "OVER"
    print(f"target parse <= 3x bare: {verdict}")


if __name__ == "__main__":
    main()
