"""Health checks: the probe of each kind, their rollup, flap control and the async worker.

`kinds/` holds one module per check type; `probe.run_check` runs one check within its timeout
and turns what it saw into a `CheckResult` with samples; `rollup` gives one status for many;
`service` keeps each check's schedule and flap state as rows, so any node can run it next;
`worker` runs due checks in one event loop and writes through the batched metrics writer.
"""
