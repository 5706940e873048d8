"""The versioned JSON of runs, shared by `--json` and the HTTP API (docs/runs.md)."""

from __future__ import annotations

from typing import Any

from opsbook.execution.plan import PlanStep
from opsbook.execution.preflight import Preflight
from opsbook.execution.tables import RunRow, RunStepRow


def step_json(step: RunStepRow, output: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": step.number,
        "title": step.title,
        "part": step.part,
        "kind": step.kind,
        "line": step.line,
        "status": step.status,
        "exit_code": step.exit_code,
        "duration_seconds": step.duration_seconds,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "error": step.error,
        "gate": step.gate,
        "confirmed_by": step.confirmed_by,
        "attempts": step.attempts,
        "output_bytes": step.output_bytes,
        "data": step.data,
    }
    if output is not None:
        data["output"] = output
    return data


def run_json(
    run: RunRow, steps: list[RunStepRow], outputs: dict[int, str] | None = None
) -> dict[str, Any]:
    finished = run.finished_at
    return {
        "run_id": run.id,
        "status": run.status,
        "runbook": run.runbook_path,
        "runbook_sha256": run.runbook_sha256,
        "procedure": run.procedure,
        "part": run.part,
        "operator": run.operator,
        "started_at": run.started_at,
        "finished_at": finished,
        "duration_seconds": (finished - run.started_at).total_seconds() if finished else None,
        "stop_reason": run.stop_reason,
        "variables": run.variables,
        "connections": run.connections,
        "owner": f"{run.owner_host}:{run.owner_pid}" if run.owner_host else "",
        "steps": [step_json(s, (outputs or {}).get(s.number)) for s in steps],
    }


def run_summary_json(run: RunRow) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "status": run.status,
        "runbook": run.runbook_path,
        "procedure": run.procedure,
        "part": run.part,
        "operator": run.operator,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "stop_reason": run.stop_reason,
    }


def preflight_json(preflight: Preflight) -> list[dict[str, Any]]:
    return [
        {
            "kind": p.kind,
            "name": p.name,
            "message": p.message,
            "steps": list(p.steps),
            "lines": list(p.lines),
        }
        for p in preflight.problems
    ]


def plan_json(plan: list[PlanStep]) -> list[dict[str, Any]]:
    return [step.to_data() for step in plan]
