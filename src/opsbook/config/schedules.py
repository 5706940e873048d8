"""`schedules:` in opsbook.yaml: jobs that run on cron.

The shape is the one `opsbook import` writes for a runbook's ```cron blocks, so an imported
fragment loads unchanged:

    schedules:
      - name: database-backup
        cron: "0 */6 * * *"
        timezone: UTC
        command: /scripts/backup-database.sh   # exactly one of command / procedure / action
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_TARGETS = ("command", "procedure", "action")


SectionModel = StrictModel


class ScheduleConfig(SectionModel):
    """One scheduled job: what to run, when, and what to do when runs collide or are missed."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique job name (letters, digits, `.`, `_`, `-`); its metrics' `job` label.",
    )
    cron: str = Field(
        description="Five-field cron expression (minute hour day-of-month month weekday)."
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone the cron expression is read in."
    )
    command: str | None = Field(
        default=None, description="Shell command to run (with /bin/sh), from the config's folder."
    )
    procedure: str | None = Field(
        default=None, description="Runbook procedure to run, as `path/to/runbook.md#anchor`."
    )
    action: str | None = Field(
        default=None, description="Built-in opsbook action line to run, e.g. `backup main`."
    )
    overlap: Literal["skip", "queue"] = Field(
        default="skip",
        description="When a fire comes while the last run is still going: skip it, or queue it.",
    )
    missed: Literal["run-once", "skip"] = Field(
        default="run-once",
        description="Fires missed while opsbook was down: run once when it is back, or skip them.",
    )
    timeout: Duration = Field(
        default=3600.0,
        description="Longest a run may take; then its whole process group is killed.",
    )
    grace: Duration = Field(
        default=600.0,
        description="How late a success may be before the job is overdue (dead man's switch).",
    )
    confirm: bool = Field(
        default=False,
        description="procedure: confirm its gated steps in advance, as `opsbook run --yes` "
        "does; without it a step that needs confirmation stops the run and the job fails.",
    )
    enabled: bool = Field(default=True, description="Set false to keep the job but not run it.")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables for the run; use ${VAR} for secrets.",
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from opsbook.scheduler.cron import validate

        return validate(" ".join(value.split()))

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        from opsbook.scheduler.cron import zone

        zone(value)
        return value

    @field_validator("procedure")
    @classmethod
    def _procedure_ref(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^#\s][^#]*#[^#\s]+", value):
            raise ValueError(f"write the procedure as path/to/runbook.md#anchor, not {value!r}")
        return value

    @model_validator(mode="after")
    def _exactly_one_target(self) -> ScheduleConfig:
        given = [name for name in _TARGETS if getattr(self, name)]
        if len(given) != 1:
            which = " and ".join(given) if given else "none"
            raise ValueError(f"give exactly one of command, procedure or action (got {which})")
        if self.confirm and self.procedure is None:
            raise ValueError("confirm applies to procedure jobs only")
        return self

    @property
    def kind(self) -> str:
        """`command`, `procedure` or `action`."""
        return next(name for name in _TARGETS if getattr(self, name))

    @property
    def target(self) -> str:
        """The command line, procedure reference or action line."""
        return str(getattr(self, self.kind))


def _unique_names(items: list[ScheduleConfig]) -> list[ScheduleConfig]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ValueError(f"two schedules are named {item.name!r}; job names must be unique")
        seen.add(item.name)
    return items


Schedules = Annotated[list[ScheduleConfig], AfterValidator(_unique_names)]
