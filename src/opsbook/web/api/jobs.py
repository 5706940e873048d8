"""/api/v1/jobs: scheduled jobs with their next and last runs, a job's history, run one now.

The shapes are those of `opsbook jobs list/history --json` (docs/schedules.md); a history lists
each run's `output_excerpt` (the end of its masked output), and one run has all of it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from pydantic import BaseModel, Field

from opsbook.accounts.model import Role
from opsbook.errors import NotFoundError
from opsbook.runtime import Runtime
from opsbook.scheduler import service
from opsbook.scheduler.schema import jobs_json, run_json
from opsbook.scheduler.tables import JobRun
from opsbook.web.api import API_PREFIX, api_router
from opsbook.web.jobs import JobLauncher
from opsbook.web.security import PrincipalDep, RuntimeDep, needs

router = api_router(prefix=API_PREFIX, tags=["jobs"])
EXCERPT_CHARS = 2000


class StartedJobRun(BaseModel):
    run_id: int
    job: str
    url: str = Field(description="Poll this for the run's status and output.")


def launcher(request: Request) -> JobLauncher:
    found: JobLauncher = request.app.state.jobs
    return found


def excerpt(output: str, limit: int = EXCERPT_CHARS) -> str:
    """The end of a run's output, where the outcome usually is."""
    return output if len(output) <= limit else "…" + output[-limit:]


def history_json(runtime: Runtime, name: str, limit: int) -> list[dict[str, Any]]:
    """A job's runs, newest first, with an excerpt of their output (masked again here)."""
    redact = runtime.redactor.redact
    with runtime.db.read() as session:
        return [
            {**run_json(run, with_output=False), "output_excerpt": excerpt(redact(run.output))}
            for run in service.history(session, name, limit)
        ]


def one_run(runtime: Runtime, name: str, run_id: int) -> dict[str, Any]:
    with runtime.db.read() as session:
        run = session.get(JobRun, run_id)
        if run is None or run.job != name:
            raise NotFoundError(f"job {name!r} has no run #{run_id}")
        data = run_json(run)
    data["output"] = runtime.redactor.redact(data["output"])
    return data


@router.get("/jobs", openapi_extra=needs(Role.VIEWER))
def list_jobs(runtime: RuntimeDep) -> dict[str, Any]:
    """Every configured job: next fire, last run, last success, and the dead man's switch
    (`success_due_at`, `overdue`), as `opsbook jobs list --json`."""
    with runtime.db.read() as session:
        items = jobs_json(session, runtime.config.settings.schedules, runtime.clock.now())
    return {"jobs": items}


@router.get("/jobs/{name}/history", openapi_extra=needs(Role.VIEWER))
def job_history(
    request: Request,
    runtime: RuntimeDep,
    name: str,
    limit: int = Query(default=20, ge=1, le=500),
) -> dict[str, Any]:
    """A job's runs, newest first: trigger, status, duration, exit status, note and the last
    2,000 characters of the masked output."""
    launcher(request).spec(name)
    return {"job": name, "runs": history_json(runtime, name, limit)}


@router.get("/jobs/{name}/runs/{run_id}", openapi_extra=needs(Role.VIEWER))
def job_run(runtime: RuntimeDep, name: str, run_id: int) -> dict[str, Any]:
    """One run of a job with all its (capped, masked) output."""
    return {"run": one_run(runtime, name, run_id)}


@router.post("/jobs/{name}/run", status_code=202, openapi_extra=needs(Role.RESPONDER))
async def run_job(request: Request, principal: PrincipalDep, name: str) -> StartedJobRun:
    """Run a job now, outside its schedule, in the server; 409 while it is running. Answers
    once the run is stored; poll `url` until its `status` is no longer `running`."""
    run_id = await launcher(request).run_now(name, principal.actor)
    return StartedJobRun(run_id=run_id, job=name, url=f"{API_PREFIX}/jobs/{name}/runs/{run_id}")
