"""Runbooks built by hand, a runtime on a scratch store, and a helper that runs a request."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.execution import service
from opsbook.execution.model import RunOptions, RunRequest
from opsbook.runbook.model import Parameter, Part, Procedure, Runbook, Step, StepKind
from opsbook.runtime import Runtime
from opsbook.storage import Database


def step(
    number: int,
    code: str,
    *,
    kind: StepKind = StepKind.SHELL,
    title: str = "",
    variables: tuple[str, ...] = (),
    tools: tuple[str, ...] = (),
    danger: tuple[str, ...] = (),
    interactive: tuple[str, ...] = (),
    parameters: tuple[Parameter, ...] = (),
    attrs: dict[str, str] | None = None,
) -> Step:
    language = {StepKind.SQL: "sql", StepKind.OPSBOOK: "opsbook"}.get(kind, "bash")
    return Step(
        number=number,
        title=title or f"step {number}",
        kind=kind,
        language=language,
        code=code,
        line=10 * number,
        part="Procedure",
        variables=variables,
        tools=tools,
        danger=danger,
        interactive=interactive,
        parameters=parameters,
        attrs=attrs or {},
        block_line=10 * number - 1,
    )


def runbook(*steps: Step, title: str = "Restart", source: str = "runbooks/ops.md") -> Runbook:
    part = Part(role="procedure", title="Procedure", slug="procedure", line=5, steps=steps)
    procedure = Procedure(
        title=title, slug=title.lower().replace(" ", "-"), line=3, level=3, parts=(part,)
    )
    text = "".join(s.code for s in steps)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Runbook(title="Ops", source=source, sha256=digest, procedures=(procedure,))


def request(book: Runbook, **kw: Any) -> RunRequest:
    procedure = book.procedures[0]
    options = kw.pop("options", None) or RunOptions(**kw.pop("opts", {}))
    return RunRequest(
        runbook=book, procedure=procedure, steps=procedure.steps, options=options, **kw
    )


@dataclass
class Recorder:
    """A listener that keeps what it heard."""

    started: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    finished: list[tuple[int, str]] = field(default_factory=list)

    def step_started(self, step: Any) -> None:
        self.started.append(step.number)

    def output(self, number: int, text: str) -> None:
        self.text.append(text)

    def step_finished(self, step: Any) -> None:
        self.finished.append((step.number, step.status))

    @property
    def all_output(self) -> str:
        return "".join(self.text)


@pytest.fixture
def runtime(sqlite_db: Database, tmp_path: Path, clock: FakeClock) -> Iterator[Runtime]:
    config = config_from_data({"execution": {"heartbeat_interval": "1s"}}, base_dir=tmp_path)
    yield Runtime(config=config, db=sqlite_db, clock=clock, node_id="test")


def start(
    runtime: Runtime, req: RunRequest, *, environ: dict[str, str] | None = None, **kw: Any
) -> service.RunOutcome:
    """Run `req` to its end in a fresh event loop."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(runtime.config.base_dir)}
    return asyncio.run(
        service.start(runtime, req, environ=environ if environ is not None else env, **kw)
    )


def run_data(runtime: Runtime, run_id: int) -> dict[str, Any]:
    with runtime.db.read() as session:
        return service.get(session, run_id)
