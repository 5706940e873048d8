from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opsbook.actions import Action, ActionContext, ActionRegistry, ActionResult
from opsbook.errors import NotFoundError, UsageError
from opsbook.execution import service
from opsbook.execution.model import RunStatus
from opsbook.execution.select import find, pick_steps
from opsbook.execution.service import PreflightFailed
from opsbook.runbook.model import Parameter, Part, Procedure, Runbook, StepKind
from opsbook.runtime import Runtime
from opsbook.secrets import MASK
from tests.execution.conftest import request, run_data, runbook, start, step

ENV = {"PATH": "/usr/bin:/bin"}


def test_preflight_names_missing_variables_parameters_and_tools(runtime: Runtime) -> None:
    book = runbook(
        step(1, "export SET_HERE=1\nnosuchtool-x --flag", tools=("nosuchtool-x",)),
        step(2, 'echo "$SET_HERE $MISSING"', variables=("SET_HERE", "MISSING")),
        step(3, 'read -p "Which host? " HOST', parameters=(Parameter("HOST", "Which host? ", 30),)),
    )
    prepared = service.prepare(runtime, request(book), environ=ENV)
    problems = {(p.kind, p.name): (p.steps, p.lines) for p in prepared.preflight.problems}
    assert problems == {
        ("tool", "nosuchtool-x"): ((1,), (10,)),
        ("variable", "MISSING"): ((2,), (20,)),
        ("parameter", "HOST"): ((3,), (30,)),
    }


def test_a_failed_preflight_runs_and_stores_nothing(runtime: Runtime, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    book = runbook(step(1, f"touch {marker}"), step(2, "echo $NOPE", variables=("NOPE",)))
    with pytest.raises(PreflightFailed, match="variable NOPE"):
        start(runtime, request(book), environ=ENV)
    assert not marker.exists()
    with runtime.db.read() as session:
        assert service.list_runs(session) == []


def test_an_unreachable_database_fails_preflight(runtime: Runtime) -> None:
    book = runbook(step(1, "SELECT 1;", kind=StepKind.SQL))
    req = request(book, connections={"main": "postgresql://u:pw@127.0.0.1:1/x"})
    prepared = service.prepare(runtime, req, environ=ENV)
    [problem] = prepared.preflight.problems
    assert problem.kind == "connection" and problem.name == f"postgresql://u:{MASK}@127.0.0.1:1/x"


def test_the_plan_shows_values_masked_gates_and_timeouts(runtime: Runtime) -> None:
    book = runbook(
        step(1, 'curl -H "Authorization: $API_TOKEN" "$URL"', variables=("API_TOKEN", "URL")),
        step(2, "rm -rf /var/cache/app", danger=("rm -rf",)),
        step(3, "watch -n 5 date", interactive=("watch",)),
    )
    req = request(book, variables={"API_TOKEN": "tok-123456", "URL": "https://x"})
    plan = service.prepare(runtime, req, environ=ENV).plan
    assert plan[0].variables == {"API_TOKEN": MASK, "URL": "https://x"}
    assert (plan[1].gate, plan[1].confirmation) == (["rm -rf"], "stops here and waits")
    assert [p.timeout_seconds for p in plan] == [600.0, 600.0, 120.0]


def _two_procedures() -> Runbook:
    diag = Part("diagnosis", "Diagnostic Steps", "diagnostic-steps", 5, (step(1, "true"),))
    fix = Part("resolution", "Resolution Steps", "resolution-steps", 9, (step(1, "true"),))
    db = Procedure("Database Connection Issues", "2-database-connection-issues", 3, 3, (diag, fix))
    restart = Procedure("Application Restart", "1-application-restart", 1, 3, (diag,))
    restart_db = Procedure("Restart", "restart", 12, 3, (fix,))
    return Runbook("Ops", "ops.md", "x", procedures=(db, restart, restart_db))


def test_a_procedure_is_found_by_title_slug_or_part_ignoring_case_and_numbers() -> None:
    book = _two_procedures()
    assert find(book, "database connection issues").procedure.title == "Database Connection Issues"
    assert find(book, "2. Database Connection Issues").procedure.line == 3
    assert find(book, "1-application-restart").procedure.title == "Application Restart"
    part = find(book, "Database Connection Issues/diagnostic steps")
    assert (part.procedure.line, part.part and part.part.title) == (3, "Diagnostic Steps")


def test_an_unknown_procedure_lists_candidates() -> None:
    with pytest.raises(NotFoundError, match=r"(?s)no procedure 'Restart app'.*Application Restart"):
        find(_two_procedures(), "Restart app")


def test_steps_are_picked_by_ranges() -> None:
    book = runbook(*(step(n, "true") for n in range(1, 8)))
    selection = find(book, "restart")
    assert [s.number for s in pick_steps(selection, "2-4,6")] == [2, 3, 4, 6]
    with pytest.raises(UsageError, match="has steps 1-7, not 9"):
        pick_steps(selection, "9")


def test_opsbook_steps_run_actions_from_the_registry_given(runtime: Runtime) -> None:
    calls: list[list[str]] = []

    def vacuum(args: list[str], ctx: ActionContext) -> ActionResult:
        calls.append([*args, f"yes={ctx.yes}"])
        return ActionResult(ok=True, output=f"vacuumed {' '.join(args)}", data={"tables": args})

    registry = ActionRegistry()
    registry.register(Action("pg vacuum", vacuum, "vacuum", dangerous=True))
    book = runbook(step(1, "# tidy up\npg vacuum songs\n", kind=StepKind.OPSBOOK))
    req = request(book, opts={"yes": True})
    outcome = asyncio.run(service.start(runtime, req, actions=registry, environ=ENV))
    data = run_data(runtime, outcome.run_id)["steps"][0]
    assert outcome.status is RunStatus.OK
    assert calls == [["songs", "yes=True"]]
    assert data["gate"] == ["opsbook action `pg vacuum` changes things"]
    assert data["output"] == "$ opsbook pg vacuum songs\nvacuumed songs\n"


def test_an_ambiguous_name_lists_each_match() -> None:
    one = Procedure("Restart", "restart", 3, 3, (Part("procedure", "Steps", "steps", 4, ()),))
    two = Procedure("Restart", "restart-1", 9, 3, (Part("procedure", "Steps", "steps", 10, ()),))
    book = Runbook("Ops", "ops.md", "x", procedures=(one, two))
    with pytest.raises(
        UsageError, match=r"(?s)more than one.*#restart, line 3.*#restart-1, line 9"
    ):
        find(book, "restart")
    assert find(book, "restart-1").procedure.line == 9
