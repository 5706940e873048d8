"""The pydantic model of opsbook.yaml. Each section's own models live beside this module
(`config/<section>.py`, built on `config.base.StrictModel`) and are imported here.

Every field carries a description; docs/configuration.md documents each one and a test keeps
the two in step.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from opsbook.config.alerts import (
    AlertingConfig,
    AlertRuleConfig,
    MaintenanceWindowConfig,
    ThresholdConfig,
)
from opsbook.config.backups import Backups
from opsbook.config.base import StrictModel
from opsbook.config.channels import ChannelConfig, ChannelName
from opsbook.config.checks import CheckList
from opsbook.config.cluster import ClusterConfig
from opsbook.config.execution import ExecutionConfig
from opsbook.config.incidents import IncidentsConfig
from opsbook.config.metrics import MetricsConfig
from opsbook.config.schedules import Schedules
from opsbook.config.server import ServerConfig
from opsbook.config.types import Duration


class ConnectionConfig(StrictModel):
    """A named database connection that SQL steps and checks use."""

    url: str = Field(
        description="Database URL, e.g. postgresql://user@host:5432/db; use ${VAR} for passwords."
    )
    statement_timeout: Duration = Field(
        default=60.0, description="Longest a single statement may run before it is cancelled."
    )
    read_only: bool = Field(
        default=False, description="Run statements in read-only transactions on this connection."
    )


class OpsbookConfig(StrictModel):
    """The whole of opsbook.yaml."""

    include: list[str] = Field(
        default_factory=list,
        description="Config files or glob patterns merged into this one (e.g. imported rules).",
    )
    data_dir: str = Field(
        default=".opsbook",
        description="Folder for the embedded SQLite store and run files relative to this file.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "Store URL: sqlite:///path or postgresql://user@host/db. "
            "Defaults to SQLite in data_dir."
        ),
    )
    runbooks: list[str] = Field(
        default_factory=list,
        description="Runbook files or glob patterns, relative to the config file.",
    )
    secrets: list[str] = Field(
        default_factory=list,
        description="Variables to treat as secrets besides *PASSWORD*, *TOKEN*, *KEY*, ...",
    )
    connections: dict[str, ConnectionConfig] = Field(
        default_factory=dict,
        description="Named database connections; a bare URL string is accepted as {url: ...}.",
    )
    server: ServerConfig = Field(
        default_factory=ServerConfig,
        description="opsbook serve: listening address, sign-in and the public status page.",
    )
    channels: dict[ChannelName, ChannelConfig] = Field(
        default_factory=dict,
        description="Named notification channels (slack, pagerduty, email, ...) and their URLs.",
    )

    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig, description="How procedures are run (docs/runs.md)."
    )
    schedules: Schedules = Field(
        default_factory=list, description="Jobs run on cron (docs/schedules.md)."
    )
    backups: Backups = Field(
        default_factory=list,
        description="Backup targets, verified and restore-tested (docs/backups.md).",
    )
    checks: CheckList = Field(default_factory=list, description="Health checks (docs/checks.md).")
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig, description="The metrics store (docs/metrics.md)."
    )

    alerts: list[AlertRuleConfig] = Field(
        default_factory=list, description="Alert rules (docs/alerts.md)."
    )
    rule_files: list[str] = Field(
        default_factory=list, description="Prometheus rule files or globs, relative to this file."
    )
    thresholds: list[ThresholdConfig] = Field(
        default_factory=list, description="Dashboard thresholds: green / yellow / red bands."
    )
    maintenance: list[MaintenanceWindowConfig] = Field(
        default_factory=list, description="Maintenance windows that hold back notifications."
    )
    alerting: AlertingConfig = Field(
        default_factory=AlertingConfig, description="Evaluation and notification timing."
    )
    incidents: IncidentsConfig = Field(
        default_factory=IncidentsConfig,
        description="Incident severity policy, escalation ladder, rotas, people and templates.",
    )

    cluster: ClusterConfig = Field(
        default_factory=ClusterConfig,
        description="Heartbeat and lease of nodes sharing one PostgreSQL store.",
    )

    @field_validator("include", mode="before")
    @classmethod
    def _one_include(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("connections", mode="before")
    @classmethod
    def _connection_shorthand(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"url": v} if isinstance(v, str) else v for k, v in value.items()}
        return value
