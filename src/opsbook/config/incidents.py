"""`incidents:` in opsbook.yaml: severity policy, escalation, on-call rotas, people, templates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration

DEFAULT_INITIAL = """INCIDENT: {{ title }}
Severity: {{ severity }}
Status: {{ status }}
Impact: {{ impact }}
Next Update: {{ next_update }}"""

DEFAULT_UPDATE = """INCIDENT UPDATE: {{ title }}
Status: {{ status }}
Progress: {{ progress }}
Current Impact: {{ current_impact }}
ETA: {{ eta }}
Next Update: {{ next_update }}"""

DEFAULT_RESOLUTION = """INCIDENT RESOLVED: {{ title }}
Duration: {{ start }} - {{ end }}
Root Cause: {{ root_cause }}
Resolution: {{ resolution }}
Follow-up: Post-mortem scheduled for {{ date }}"""


class SeverityConfig(StrictModel):
    level: str = Field(description="Short name used everywhere: P1, P2, ... (or SEV1, ...).")
    name: str = Field(default="", description="Human name: Critical, High, ...")
    response: Duration | None = Field(
        default=None, description="Response target: acknowledge within this long of detection."
    )
    update_every: Duration | None = Field(
        default=None,
        description="How often the commander must post an update while the incident is open.",
    )
    description: str = Field(default="", description="What qualifies (shown in lists and pages).")


DEFAULT_SEVERITIES = (
    SeverityConfig(
        level="P1",
        name="Critical",
        response=900,
        update_every=1800,
        description="Complete outage, data loss",
    ),
    SeverityConfig(
        level="P2",
        name="High",
        response=3600,
        update_every=3600,
        description="Partial outage, severe degradation",
    ),
    SeverityConfig(
        level="P3",
        name="Medium",
        response=14400,
        update_every=14400,
        description="Feature failure, minor degradation",
    ),
    SeverityConfig(
        level="P4",
        name="Low",
        response=86400,
        update_every=86400,
        description="Cosmetic issues, minor bugs",
    ),
)


class EscalationLevelConfig(StrictModel):
    level: int = Field(ge=1, description="1 for L1, 2 for L2, ...")
    target: str = Field(
        description="Who is paged: a rota name, a person, a channel name, or a description "
        "(paged through `incidents.channels`)."
    )
    after: Duration = Field(
        default=0.0, description="Delay after the incident was detected before this level is paged."
    )


class OverrideConfig(StrictModel):
    person: str = Field(description="Who is on call instead during the override.")
    start: datetime = Field(description="When the override begins (ISO 8601, with zone or UTC).")
    end: datetime = Field(description="When the override ends.")


class RotaConfig(StrictModel):
    people: list[str] = Field(min_length=1, description="People in rota order.")
    start: datetime = Field(description="A handover time at which the first person's week began.")
    every: Duration = Field(
        default=604800.0, description="Length of one shift (weekly by default)."
    )
    timezone: str = Field(default="UTC", description="Time zone of `start` when it has none.")
    overrides: list[OverrideConfig] = Field(default_factory=list, description="Temporary swaps.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class PersonConfig(StrictModel):
    name: str = Field(default="", description="Display name.")
    channels: list[str] = Field(
        default_factory=list, description="Channels that reach this person."
    )


class TemplatesConfig(StrictModel):
    initial: str = Field(
        default=DEFAULT_INITIAL, description="First message when an incident opens (Jinja2)."
    )
    update: str = Field(default=DEFAULT_UPDATE, description="Message for each update (Jinja2).")
    resolution: str = Field(
        default=DEFAULT_RESOLUTION, description="Message when it is resolved (Jinja2)."
    )


class IncidentsConfig(StrictModel):
    severities: list[SeverityConfig] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITIES),
        description="Severity policy, most severe first (default P1-P4: 15 min, 1 h, 4 h, 24 h).",
    )
    escalation: list[EscalationLevelConfig] = Field(
        default_factory=list, description="The escalation ladder, L1 first."
    )
    channels: list[str] = Field(
        default_factory=list,
        description="Channels for every incident message, and for pages whose target is no rota, "
        "person or channel.",
    )
    open_from_alerts: list[str] = Field(
        default_factory=lambda: ["P1", "P2"],
        description="Severities at which a firing alert opens (or joins) an incident.",
    )
    severity_map: dict[str, str] = Field(
        default_factory=dict,
        description="Alert severity -> incident severity, added to the built-in map "
        "(critical->P1, high/error->P2, warning/medium->P3, info/low->P4).",
    )
    rotas: dict[str, RotaConfig] = Field(default_factory=dict, description="On-call rotas by name.")
    people: dict[str, PersonConfig] = Field(default_factory=dict, description="People by handle.")
    templates: TemplatesConfig = Field(
        default_factory=TemplatesConfig, description="Communication templates (Jinja2)."
    )
    reminder_grace: Duration = Field(
        default=0.0, description="Slack after an update is due before the reminder is sent."
    )

    @model_validator(mode="after")
    def _consistent(self) -> IncidentsConfig:
        levels = [s.level for s in self.severities]
        if len(set(levels)) != len(levels):
            raise ValueError(f"severity levels repeat: {levels}")
        ladder = [e.level for e in self.escalation]
        if ladder != sorted(ladder) or len(set(ladder)) != len(ladder):
            raise ValueError(f"escalation levels must be increasing: {ladder}")
        unknown = [p for p in self.open_from_alerts if p not in levels]
        if unknown:
            raise ValueError(f"open_from_alerts names unknown severities: {unknown}")
        for name, rota in self.rotas.items():
            missing = [p for p in rota.people if self.people and p not in self.people]
            if missing:
                raise ValueError(f"rota {name!r} names people not in `people`: {missing}")
        return self
