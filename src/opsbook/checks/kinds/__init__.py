"""One module per check type, each with an async `probe(spec, ctx, obs)`.

Adding a kind: a model in config/checks.py (added to `CheckConfig`), a module here, a line in
`PROBES`, its metrics in docs/metrics.md, its settings in docs/checks.md, and tests against a
real target.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opsbook.checks.context import ProbeContext
from opsbook.checks.kinds import (
    command,
    cpu,
    disk,
    dns,
    http,
    log,
    memory,
    postgres,
    prometheus,
    redis,
    tcp,
    tls,
)
from opsbook.checks.model import Observation

Probe = Callable[[Any, ProbeContext, Observation], Awaitable[None]]

PROBES: dict[str, Probe] = {
    "http": http.probe,
    "tcp": tcp.probe,
    "dns": dns.probe,
    "tls": tls.probe,
    "postgres": postgres.probe,
    "redis": redis.probe,
    "disk": disk.probe,
    "memory": memory.probe,
    "cpu": cpu.probe,
    "load": cpu.probe,
    "command": command.probe,
    "prometheus": prometheus.probe,
    "log": log.probe,
}
