"""docs/runs.md names every field of the run JSON, the plan and preflight problems."""

from __future__ import annotations

import re
from pathlib import Path

from opsbook.execution import service
from opsbook.execution.schema import plan_json, preflight_json
from opsbook.runtime import Runtime
from tests.execution.conftest import request, run_data, runbook, start, step

DOC = (Path(__file__).resolve().parents[2] / "docs" / "runs.md").read_text()
NAMES = set(re.findall(r'"([a-z0-9_]+)"', DOC)) | set(re.findall(r"`([a-z0-9_]+)`", DOC))


def test_every_field_of_the_run_json_is_documented(runtime: Runtime) -> None:
    outcome = start(runtime, request(runbook(step(1, "echo x"))))
    data = run_data(runtime, outcome.run_id)
    fields = set(data) | set(data["steps"][0])
    assert sorted(fields - NAMES) == []


def test_every_field_of_the_plan_and_preflight_is_documented(runtime: Runtime) -> None:
    book = runbook(step(1, "echo $MISSING", variables=("MISSING",)))
    prepared = service.prepare(runtime, request(book), environ={"PATH": "/usr/bin"})
    fields = set(plan_json(prepared.plan)[0]) | set(preflight_json(prepared.preflight)[0])
    assert sorted(fields - NAMES) == []
