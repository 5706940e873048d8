"""Runbook runs made for an incident: each step result lands on the incident's timeline as it
finishes, and the post-mortem lists the runs with their step outcomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opsbook.execution import service as runs
from opsbook.execution.engine import RunListener
from opsbook.execution.tables import RunStepRow
from opsbook.incidents import service, timeline
from opsbook.incidents.model import EventKind
from opsbook.incidents.service import IncidentContext
from opsbook.storage import Database
from opsbook.units import format_duration


class IncidentRunListener:
    """Passes everything to `inner` and writes each step's result onto incident `incident_id`."""

    def __init__(
        self,
        db: Database,
        ctx: IncidentContext,
        incident_id: int,
        *,
        actor: str,
        inner: RunListener | None,
    ) -> None:
        self.db, self.ctx, self.incident_id, self.actor, self.inner = (
            db,
            ctx,
            incident_id,
            actor,
            inner,
        )
        self.run_id: int | None = None

    def step_started(self, step: RunStepRow) -> None:
        if self.run_id is None:
            self.run_id = step.run_id
            with self.db.write() as session:
                attach(session, self.ctx, self.incident_id, step.run_id, actor=self.actor)
        if self.inner is not None:
            self.inner.step_started(step)

    def output(self, number: int, text: str) -> None:
        if self.inner is not None:
            self.inner.output(number, text)

    def step_finished(self, step: RunStepRow) -> None:
        if self.inner is not None:
            self.inner.step_finished(step)
        took = (
            f", {format_duration(step.duration_seconds)}"
            if step.duration_seconds is not None
            else ""
        )
        code = f", exit {step.exit_code}" if step.exit_code is not None else ""
        text = f"Run {step.run_id} step {step.number} {step.title!r}: {step.status}{code}{took}"
        with self.db.write() as session:
            incident = service.get(session, self.incident_id)
            service.add_event(
                session,
                self.ctx,
                incident,
                EventKind.RUN,
                actor=self.actor,
                text=text,
                data={
                    "run": step.run_id,
                    "step": step.number,
                    "title": step.title,
                    "status": step.status,
                    "exit_code": step.exit_code,
                    "duration_seconds": step.duration_seconds,
                    "error": step.error[:500],
                },
            )


def attach(
    session: Session, ctx: IncidentContext, incident_id: int, run_id: int, *, actor: str
) -> None:
    """Link run `run_id` to the incident (once) and say so on the timeline."""
    incident = service.get(session, incident_id)
    data = runs.get(session, run_id, output=False)
    label = f"{data.get('procedure', '')}" + (f" / {data['part']}" if data.get("part") else "")
    _, new = service.link(session, ctx, incident, kind="run", ref=str(run_id), label=label)
    if new:
        service.add_event(
            session,
            ctx,
            incident,
            EventKind.RUN,
            actor=actor,
            text=f"Run {run_id} started: {label}",
            data={"run": run_id, "runbook": data.get("runbook")},
        )


def finished(
    session: Session, ctx: IncidentContext, incident_id: int, run_id: int, *, actor: str
) -> None:
    """Record how the run ended."""
    incident = service.get(session, incident_id)
    data = runs.get(session, run_id, output=False)
    service.add_event(
        session,
        ctx,
        incident,
        EventKind.RUN,
        actor=actor,
        text=f"Run {run_id} {data['status']}",
        data={"run": run_id, "status": data["status"]},
    )


def summaries(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """Every run linked to the incident, with its steps, for the post-mortem."""
    return [
        runs.get(session, int(link.ref), output=False)
        for link in timeline.links(session, incident_id, "run")
    ]


def incident_for_run(session: Session, run_id: int) -> int | None:
    """The incident a run was made for, if any (so a resumed run reports there too)."""
    from sqlalchemy import select

    from opsbook.incidents.tables import IncidentLinkRow

    return session.scalar(
        select(IncidentLinkRow.incident_id).where(
            IncidentLinkRow.kind == "run", IncidentLinkRow.ref == str(run_id)
        )
    )
