"""How `opsbook run` and `opsbook runs` look in a terminal (the rendering half of run.py)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from opsbook.cli.output import console, escape
from opsbook.execution.engine import Decision
from opsbook.execution.plan import PlanStep
from opsbook.execution.preflight import Preflight
from opsbook.execution.tables import RunStepRow
from opsbook.runbook.model import Step
from opsbook.secrets import Redactor
from opsbook.units import format_duration

MARKS = {
    "ok": "[green]✔ ok[/]",
    "failed": "[red]✘ failed[/]",
    "timed_out": "[red]⏱ timed out[/]",
    "skipped": "[dim]↷ skipped[/]",
    "waiting": "[yellow]⏸ waiting[/]",
    "interrupted": "[red]■ interrupted[/]",
    "pending": "[dim]· pending[/]",
    "running": "[cyan]▶ running[/]",
}
RUN_COLOURS = {"ok": "green", "failed": "red", "waiting": "yellow", "interrupted": "red"}


class TerminalListener:
    """Prints each step as it starts, its output live, and how it ended."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self._line_open = False

    def step_started(self, step: RunStepRow) -> None:
        self.out.print(
            f"\n[bold]▶ {step.number}. {escape(step.title)}[/] "
            f"[dim]({step.kind}, line {step.line})[/]"
        )

    def output(self, number: int, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
        self._line_open = not text.endswith("\n")

    def step_finished(self, step: RunStepRow) -> None:
        if self._line_open:
            sys.stdout.write("\n")
            self._line_open = False
        took = f" in {format_duration(step.duration_seconds)}" if step.duration_seconds else ""
        why = f": {escape(step.error)}" if step.error else ""
        self.out.print(f"{MARKS.get(step.status, step.status)}{took}{why}")


class TerminalPrompter:
    """Asks at the terminal whether to run a gated step, or whether a manual step is done."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def gate(self, step: Step, reasons: list[str]) -> Decision:
        console.print(
            f"\n[bold yellow]Step {step.number}. {escape(step.title)}[/] needs confirmation:"
        )
        console.print(f"  [yellow]{escape('; '.join(reasons))}[/]")
        console.print(escape(_indent(self.redactor.redact(step.code))))
        return _choice("Run it? [y]es, [s]kip, [n]o: stop here")

    def manual(self, step: Step) -> Decision:
        console.print(f"\n[bold]Step {step.number}. {escape(step.title)}[/] is done by you:")
        console.print(escape(_indent(step.text or step.code or step.title)))
        return _choice("Done? [y]es, [s]kip, [n]o: stop here")


def _choice(question: str) -> Decision:
    answer = typer.prompt(question, default="n", show_default=False).strip().lower()
    return {"y": Decision.RUN, "yes": Decision.RUN, "s": Decision.SKIP, "skip": Decision.SKIP}.get(
        answer, Decision.STOP
    )


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.rstrip().splitlines())


def print_procedures(source: str, procedures: list[dict[str, Any]]) -> None:
    if not procedures:
        console.print(f"{escape(source)} has no runnable procedures.")
        return
    table = Table(title=f"Runnable procedures in {escape(source)}", title_justify="left")
    table.add_column("procedure")
    table.add_column("slug", overflow="fold")
    table.add_column("steps", justify="right")
    table.add_column("parts")
    for proc in procedures:
        parts = ", ".join(f"{p['title']} ({p['steps']})" for p in proc["parts"])
        table.add_row(escape(proc["title"]), proc["slug"], str(proc["steps"]), escape(parts))
    console.print(table)
    console.print('Run one with: opsbook run RUNBOOK "Procedure" or "Procedure/Part"')


def print_preflight(preflight: Preflight) -> None:
    console.print("\n[red bold]Preflight failed; nothing ran.[/]")
    hints = {
        "variable": "give it with --var {name}=... or --env-file FILE",
        "parameter": "give it with --var {name}=...",
        "tool": "install it or put it on PATH",
        "connection": "check --connection, connections:, DATABASE_URL or DB_*",
        "action": "see the available opsbook actions",
    }
    for problem in preflight.problems:
        where = ", ".join(
            f"step {n} (line {line})" for n, line in zip(problem.steps, problem.lines, strict=True)
        )
        hint = hints[problem.kind].format(name=problem.name)
        console.print(
            f"  [bold]{problem.kind}[/] {escape(problem.name)}: {escape(problem.message)}"
            f" [dim]— used by {where}; {escape(hint)}[/]"
        )


def print_plan(header: dict[str, Any], plan: list[PlanStep]) -> None:
    name = header["procedure"] + (f"/{header['part']}" if header["part"] else "")
    console.print(f"[bold]Plan for {escape(name)}[/] ({len(plan)} steps; dry run, nothing runs)")
    for step in plan:
        timeout = (
            f", timeout {format_duration(step.timeout_seconds)}" if step.timeout_seconds else ""
        )
        verb = {"show": ", shown not run", "confirm": ", done by a person"}.get(step.action, "")
        console.print(
            f"\n[bold]{step.number}. {escape(step.title)}[/] "
            f"[dim]({step.kind}, line {step.line}{timeout}{verb})[/]"
        )
        if step.gate or step.confirmation:
            reasons = "; ".join(step.gate) or "manual step"
            console.print(
                f"   [yellow]needs confirmation: {escape(reasons)} → {step.confirmation}[/]"
            )
        if step.target:
            console.print(f"   database: {escape(step.target)}")
        if step.variables:
            values = " ".join(f"{k}={v}" for k, v in step.variables.items())
            console.print(f"   variables: {escape(values)}")
        if step.tools:
            console.print(f"   tools: {escape(', '.join(step.tools))}")
        if step.interactive:
            console.print(
                f"   [dim]never ends by itself ({escape(', '.join(step.interactive))}): "
                "stops at its timeout[/]"
            )


def print_summary(data: dict[str, Any]) -> None:
    status = data["status"]
    colour = RUN_COLOURS.get(status, "white")
    took = f" in {format_duration(data['duration_seconds'])}" if data["duration_seconds"] else ""
    counts: dict[str, int] = {}
    for step in data["steps"]:
        counts[step["status"]] = counts.get(step["status"], 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in counts.items())
    console.print(f"\n[bold {colour}]Run {data['run_id']} {status}[/]{took} ({tally})")
    if data["stop_reason"]:
        console.print(escape(data["stop_reason"]))
    if status in {"failed", "interrupted", "waiting"}:
        console.print(
            f"[dim]See it with `opsbook runs show {data['run_id']}`; continue it with "
            f"`opsbook runs resume {data['run_id']}`.[/]"
        )


def print_runs(runs: list[dict[str, Any]]) -> None:
    """One line per run (id, status, start, operator, procedure), its stop reason below."""
    if not runs:
        console.print("No runs yet.")
        return
    for run in runs:
        name = run["procedure"] + (f"/{run['part']}" if run["part"] else "")
        colour = RUN_COLOURS.get(run["status"], "white")
        console.print(
            f"[bold]{run['run_id']:>5}[/]  [{colour}]{run['status']:<11}[/] "
            f"{run['started_at']:%Y-%m-%d %H:%M}  {escape(run['operator'])}  {escape(name)}"
        )
        if run["stop_reason"]:
            console.print(f"       [dim]{escape(run['stop_reason'][:200])}[/]")


def print_run(data: dict[str, Any]) -> None:
    name = data["procedure"] + (f"/{data['part']}" if data["part"] else "")
    console.print(f"[bold]Run {data['run_id']}[/] {escape(name)} — {escape(data['runbook'])}")
    console.print(
        f"operator {escape(data['operator'])}, started {data['started_at']:%Y-%m-%d %H:%M:%S}"
    )
    if data["variables"]:
        console.print(
            "variables: " + escape(" ".join(f"{k}={v}" for k, v in data["variables"].items()))
        )
    for step in data["steps"]:
        took = (
            f" in {format_duration(step['duration_seconds'])}" if step["duration_seconds"] else ""
        )
        why = f": {escape(step['error'])}" if step["error"] else ""
        who = (
            f" [dim](confirmed by {escape(step['confirmed_by'])})[/]"
            if step["confirmed_by"]
            else ""
        )
        console.print(
            f"\n[bold]{step['number']}. {escape(step['title'])}[/] "
            f"{MARKS.get(step['status'], step['status'])}{took}{why}{who}"
        )
        if step.get("output"):
            console.print(escape(_indent(step["output"])), soft_wrap=True)
    print_summary(data)
