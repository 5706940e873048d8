"""Config sections of the alerts area: `alerts`, `rule_files`, `thresholds`, `maintenance`,
`alerting`. Conditions are checked when the file loads, so a typo in a metric name is an error
with its file and line, never a rule that silently never fires.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator, model_validator

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*")


def _check_condition(text: str, dialect: str) -> str:
    # The language is pure (no I/O, no config); imported here so every command that loads the
    # config refuses a broken condition.
    from opsbook.alerts.language import ConditionError, compile_condition
    from opsbook.alerts.named import default_catalog

    try:
        compile_condition(text, default_catalog(), dialect)
    except ConditionError as exc:
        raise ValueError(str(exc)) from None
    return text


def _check_matchers(values: list[str]) -> list[str]:
    from opsbook.alerts.matchers import parse_matchers

    parse_matchers(values)
    return values


class AlertRuleConfig(StrictModel):
    """One alert rule."""

    name: str = Field(min_length=1, description="Rule name; becomes the `alertname` label.")
    condition: str | None = Field(
        default=None,
        validation_alias=AliasChoices("condition", "threshold"),
        description="Condition in the opsbook language, e.g. `error_rate > 5%` (or `threshold:`).",
    )
    expr: str | None = Field(
        default=None, description="Prometheus expression instead of `condition` (PromQL subset)."
    )
    for_: Duration = Field(
        default=0.0,
        validation_alias=AliasChoices("for", "duration"),
        description="How long the condition must hold before the alert fires (`for:`).",
    )
    keep_firing_for: Duration = Field(
        default=0.0, description="How long a firing alert keeps firing after it stops matching."
    )
    severity: str = Field(default="warning", description="Severity as written (critical, High).")
    channels: list[str] = Field(
        default_factory=list, description="Notification channels (names from `channels:`)."
    )
    message: str = Field(
        default="", description="Message text; may use {{ $value }} and {{ $labels.NAME }}."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels added to the alert.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations (summary, description, ...), templated."
    )
    runbook: str | None = Field(
        default=None, description="Runbook procedure that fixes it: `runbooks/db.md#anchor`."
    )
    repeat_interval: Duration | None = Field(
        default=None, description="Reminder interval while firing (default alerting.*)."
    )
    group_by: list[str] | None = Field(
        default=None,
        description="Labels whose values split the rule's alerts into notification groups.",
    )
    group_wait: Duration | None = Field(
        default=None, description="Wait before the first message of a group (default alerting.*)."
    )
    group_interval: Duration | None = Field(
        default=None, description="Least time between messages of a group (default alerting.*)."
    )

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        return None if value is None else _check_condition(value, "opsbook")

    @field_validator("expr")
    @classmethod
    def _expr(cls, value: str | None) -> str | None:
        return None if value is None else _check_condition(value, "prometheus")

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        from opsbook.alerts.templates import check_template

        check_template(value)
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        from opsbook.alerts.templates import check_template

        for text in value.values():
            check_template(text)
        return value

    @model_validator(mode="after")
    def _one_condition(self) -> AlertRuleConfig:
        if (self.condition is None) == (self.expr is None):
            raise ValueError("give exactly one of `condition` and `expr`")
        return self


class ThresholdConfig(StrictModel):
    """A dashboard threshold row: a metric and its green / yellow / red bands."""

    metric: str = Field(description="Named metric as written (`P95 Latency`) or an expression.")
    green: str = Field(default="", description="Band that is green, e.g. `< 500ms`.")
    yellow: str = Field(default="", description="Band that is yellow, e.g. `500-1000ms`.")
    red: str = Field(default="", description="Band that is red, e.g. `> 1000ms`.")

    @model_validator(mode="after")
    def _bands_parse(self) -> ThresholdConfig:
        from opsbook.alerts.thresholds import compile_threshold

        compile_threshold(self.metric, self.green, self.yellow, self.red)
        return self


class MaintenanceWindowConfig(StrictModel):
    """A time when notifications are held back: one-off, weekly, or on a cron schedule."""

    name: str = Field(description="Name shown on suppressed alerts.")
    matchers: list[str] = Field(
        default_factory=list,
        description='Label matchers (`severity="warning"`); empty means every alert.',
    )
    start: datetime | None = Field(default=None, description="One-off window start (ISO 8601).")
    end: datetime | None = Field(default=None, description="One-off window end (ISO 8601).")
    days: list[str] = Field(
        default_factory=list, description="Weekly window days: monday ... sunday, or `daily`."
    )
    time: str | None = Field(default=None, description="Weekly window hours, e.g. `02:00-04:00`.")
    cron: str | None = Field(default=None, description="Cron expression for when windows start.")
    duration: Duration | None = Field(default=None, description="Length of each cron window.")
    timezone: str = Field(default="UTC", description="Time zone of `time`, `cron` and naive dates.")
    comment: str = Field(
        default="",
        description="Why notifications are held back; shown on the public status page.",
    )

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (write e.g. Europe/Berlin)") from None
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        out: list[str] = []
        for item in items:
            key = str(item).strip().lower()
            if key in ("daily", "every day", "day"):
                out.extend(WEEKDAYS)
                continue
            match = [d for d in WEEKDAYS if d.startswith(key[:3])] if len(key) >= 3 else []
            if len(match) != 1:
                raise ValueError(f"unknown day {item!r} (use monday ... sunday, or daily)")
            out.append(match[0])
        return out

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindowConfig:
        kinds = [
            self.start is not None or self.end is not None,
            bool(self.days) or self.time is not None,
            self.cron is not None or self.duration is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError(
                "a window is one of: `start` + `end`; `days` + `time`; or `cron` + `duration`"
            )
        if kinds[0] and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError("a one-off window needs `start` and a later `end`")
        weekly_ok = bool(self.days) and self.time is not None and _TIME_RANGE.fullmatch(self.time)
        if kinds[1] and not weekly_ok:
            raise ValueError("a weekly window needs `days` and `time` such as 02:00-04:00")
        if kinds[2]:
            _check_cron(self.cron, self.duration)
        return self


def _check_cron(expression: str | None, duration: float | None) -> None:
    from cronsim import CronSim, CronSimError

    if expression is None or not duration:
        raise ValueError("a cron window needs `cron` and a `duration`")
    try:
        CronSim(expression, datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None


class AlertingConfig(StrictModel):
    """Settings for every rule."""

    interval: Duration = Field(default=15.0, description="How often every rule is evaluated.")
    lookback: Duration = Field(
        default=300.0, description="How far back a rule looks for a metric's latest sample."
    )
    group_wait: Duration = Field(
        default=0.0, description="Default wait before a group's first message (the `for` holds)."
    )
    group_interval: Duration = Field(
        default=60.0, description="Default least time between two messages of one group."
    )
    repeat_interval: Duration = Field(
        default=4 * 3600.0, description="Default reminder interval while an alert fires."
    )
    default_channels: list[str] = Field(
        default_factory=list, description="Channels for rules that name none (rule files)."
    )

    @model_validator(mode="after")
    def _intervals(self) -> AlertingConfig:
        if self.interval <= 0:
            raise ValueError("interval must be more than 0s")
        if self.repeat_interval < self.group_interval:
            raise ValueError("repeat_interval must not be shorter than group_interval")
        return self
