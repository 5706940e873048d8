"""Where each check runs when several nodes share one PostgreSQL store (`checks[].run_on`).

- `any`: one row, claimed by whichever node is free (HTTP, TCP, DNS, TLS, PostgreSQL, Redis and
  Prometheus checks look at another machine, so any node sees the same thing).
- `every`: one row per machine that runs a node, named `NAME@HOST`, claimed only by nodes on
  that machine; samples carry `check=NAME` and `host=HOST`. The default for disk, memory, cpu,
  log and command checks, which look at the machine they run on.
- a host name: one row, claimed only by nodes on that machine.

On SQLite there is one node, so every check runs there under its own name.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

from opsbook.config.checks import CheckConfig

HOST_BOUND = frozenset({"disk", "memory", "cpu", "load", "log", "command"})
SEPARATOR = "@"


@dataclass(frozen=True, slots=True)
class Placed:
    """A check as stored: `spec.name` is its row's name; `host` the machine it is bound to."""

    spec: CheckConfig
    host: str | None  # None: any node


@dataclass(frozen=True, slots=True)
class Placement:
    """The rows this node syncs, which of them it may run, and the `every` checks whose rows
    on other machines it leaves alone."""

    placed: tuple[Placed, ...]
    host: str
    every: frozenset[str]

    @property
    def runnable(self) -> list[CheckConfig]:
        return [p.spec for p in self.placed if p.host is None or p.host == self.host]

    @property
    def hosts(self) -> dict[str, str | None]:
        return {p.spec.name: p.host for p in self.placed}

    def owned_elsewhere(self, row_name: str) -> bool:
        """True for `NAME@OTHERHOST` rows of this config's `every` checks."""
        base, sep, host = row_name.rpartition(SEPARATOR)
        return bool(sep) and base in self.every and host != self.host


def mode_of(spec: CheckConfig) -> str:
    return spec.run_on or ("every" if spec.type in HOST_BOUND else "any")


def place(specs: Iterable[CheckConfig], *, shared: bool, host: str | None = None) -> Placement:
    """The rows for `specs` as this node (on `host`, default this machine) sees them."""
    here = host or socket.gethostname()
    if not shared:
        return Placement(tuple(Placed(s, None) for s in specs), here, frozenset())
    placed: list[Placed] = []
    every: set[str] = set()
    for spec in specs:
        mode = mode_of(spec)
        if mode == "any":
            placed.append(Placed(spec, None))
        elif mode == "every":
            every.add(spec.name)
            copy = spec.model_copy(update={"name": f"{spec.name}{SEPARATOR}{here}"})
            placed.append(Placed(copy, here))
        else:
            placed.append(Placed(spec, mode))
    return Placement(tuple(placed), here, frozenset(every))


def labels_for(row_name: str) -> dict[str, str]:
    """The sample labels naming a check row: `check`, and `host` for a per-machine row."""
    base, sep, host = row_name.rpartition(SEPARATOR)
    return {"check": base, "host": host} if sep else {"check": row_name}
