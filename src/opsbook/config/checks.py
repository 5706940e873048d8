"""`checks:` in opsbook.yaml: health checks, one entry per check, told apart by `type`.

Every check has a name, an interval, a timeout, whether it is critical, flap control (`retries`
in a row, or `fail: 3 of 5`), and its group and labels for the status page; each type adds the
settings of its probe. docs/checks.md documents every setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration, Fraction, Size
from opsbook.units import parse_duration

CHECK_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
_FAIL_WINDOW = re.compile(r"\s*(\d+)\s*(?:of|/)\s*(\d+)\s*")
_STATUS = re.compile(r"([1-5])xx|(\d{3})(?:\s*-\s*(\d{3}))?")
DAY = 86400.0
DEFAULT_TIMEOUT = 10.0


def _parse_fail_window(value: Any) -> tuple[int, int]:
    if isinstance(value, list | tuple) and len(value) == 2:
        failures, window = int(value[0]), int(value[1])
    else:
        match = _FAIL_WINDOW.fullmatch(str(value))
        if not match:
            raise ValueError(f"write it as 'M of N', like '3 of 5', not {value!r}")
        failures, window = int(match[1]), int(match[2])
    if not 1 <= failures <= window <= 100:
        raise ValueError(f"'{failures} of {window}' needs 1 <= M <= N <= 100")
    return failures, window


FailWindow = Annotated[
    tuple[int, int],
    BeforeValidator(_parse_fail_window),
    PlainSerializer(lambda w: f"{w[0]} of {w[1]}", return_type=str, when_used="json"),
]
"""(failures, window): the check fails when `failures` of the last `window` results failed."""


def _parse_status_ranges(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    result = []
    for item in items:
        text = str(item).strip().lower()
        match = _STATUS.fullmatch(text)
        if not match or (match[3] and int(match[3]) < int(match[2])):
            raise ValueError(f"expected a status like 200, 2xx or 200-299, not {item!r}")
        result.append(text)
    return result


StatusList = Annotated[list[str], BeforeValidator(_parse_status_ranges)]


def status_accepted(code: int, accepted: list[str]) -> bool:
    """True when HTTP status `code` is one of `accepted` (200, 2xx, 200-299)."""
    for item in accepted:
        match = _STATUS.fullmatch(item)
        assert match is not None
        if match[1] and code // 100 == int(match[1]):
            return True
        if match[2] and int(match[2]) <= code <= int(match[3] or match[2]):
            return True
    return False


class CheckBase(StrictModel):
    """What every check has, whatever its type."""

    name: str = Field(
        pattern=CHECK_NAME,
        max_length=100,
        description="Unique name; metrics carry it as the `check` label.",
    )
    description: str = Field(default="", description="What the check watches, for people.")
    enabled: bool = Field(default=True, description="Set false to stop running the check.")
    interval: Duration = Field(default=60.0, description="How often the check runs.")
    timeout: Duration = Field(
        default=DEFAULT_TIMEOUT,
        description="Longest one run may take; a slower run fails (default 10s, at most 80% "
        "of the interval).",
    )
    critical: bool = Field(
        default=True,
        description="A failing critical check makes the rollup unhealthy; others make it degraded.",
    )
    retries: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Failed runs in a row tolerated before the check counts as failing.",
    )
    fail: FailWindow | None = Field(
        default=None,
        description="Count as failing when M of the last N runs failed, written '3 of 5'.",
    )
    recover: int = Field(
        default=1, ge=1, le=100, description="Good runs in a row needed to count as recovered."
    )
    retry_interval: Duration | None = Field(
        default=None,
        description="Interval between runs while a failure is being confirmed (default: interval).",
    )
    group: str = Field(default="", description="Group on the status page, e.g. 'Database'.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Free labels for the status page and alert routing."
    )
    runbook: str | None = Field(
        default=None,
        description="The runbook procedure that fixes this check, e.g. runbooks/db.md#restart.",
    )
    run_on: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=100,
        description="Where the check runs when several nodes share a PostgreSQL store: `any` "
        "(one node, whichever is free), `every` (once on each machine that runs a node, as "
        "NAME@HOST) or a host name (only nodes on that machine). Default: `every` for disk, "
        "memory, cpu, log and command checks, `any` for the others.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_timeout(cls, data: Any) -> Any:
        """Without a timeout: 10s, or 80% of a shorter interval."""
        if isinstance(data, dict) and "timeout" not in data and "interval" in data:
            try:
                interval = parse_duration(data["interval"])
            except (TypeError, ValueError):
                return data  # the interval's own error is reported
            return {**data, "timeout": min(DEFAULT_TIMEOUT, interval * 0.8)}
        return data

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value < 1:
            raise ValueError("interval must be at least 1s")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval")
        if value <= 0 or (interval is not None and value > interval):
            raise ValueError(
                f"timeout ({value:g}s) must be more than 0 and at most the interval ({interval:g}s)"
            )
        return value

    @field_validator("fail")
    @classmethod
    def _one_flap_rule(cls, value: tuple[int, int] | None, info: ValidationInfo) -> object:
        if value is not None and info.data.get("retries"):
            raise ValueError("use either retries (failures in a row) or fail ('M of N'), not both")
        return value

    @field_validator("retry_interval")
    @classmethod
    def _retry_interval(cls, value: float | None, info: ValidationInfo) -> float | None:
        interval = info.data.get("interval")
        if value is not None and (value < 1 or (interval is not None and value > interval)):
            raise ValueError("retry_interval must be between 1s and the interval")
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
                raise ValueError(f"label name {key!r} must be letters, digits and _")
        return value


class TlsSettings(StrictModel):
    """Certificate verification shared by http, tls and prometheus checks (mixed in)."""

    verify: bool = Field(
        default=True, description="Verify the server's TLS certificate and host name."
    )
    ca_file: str | None = Field(
        default=None, description="PEM file of CA certificates to trust instead of the system's."
    )


class HttpCheck(CheckBase, TlsSettings):
    type: Literal["http"] = Field(description="Check type.")
    url: str = Field(pattern=r"^https?://", description="URL to request (http or https).")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = Field(
        default="GET", description="HTTP method."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers; put tokens in ${VAR} references."
    )
    body: str | None = Field(default=None, description="Request body.")
    expect_status: StatusList = Field(
        default_factory=lambda: ["200-399"],
        description="Accepted status codes: 200, 2xx, 200-299 or a list of them.",
    )
    body_contains: str | None = Field(
        default=None, description="Text the response body must contain."
    )
    json_equals: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON fields the body must have, by dotted path: {status: ok, db.up: true}.",
    )
    max_response_time: Duration | None = Field(
        default=None, description="A slower answer makes the check degraded."
    )
    follow_redirects: bool = Field(default=True, description="Follow redirects.")
    cert_warning: Duration = Field(
        default=30 * DAY,
        description="For https: a certificate expiring sooner makes the check degraded.",
    )


class TcpCheck(CheckBase):
    type: Literal["tcp"] = Field(description="Check type.")
    host: str = Field(description="Host name or address to connect to.")
    port: int = Field(ge=1, le=65535, description="TCP port.")


class DnsCheck(CheckBase):
    type: Literal["dns"] = Field(description="Check type.")
    query: str = Field(description="Name to resolve, e.g. api.example.com.")
    record: Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR", "SOA", "CAA"] = Field(
        default="A", description="Record type to ask for."
    )
    server: str | None = Field(
        default=None, description="Name server address to ask (default: the system's)."
    )
    port: int = Field(default=53, ge=1, le=65535, description="Name server port.")
    expect: list[str] = Field(
        default_factory=list, description="Values that must all be among the answers."
    )


class TlsCheck(CheckBase, TlsSettings):
    type: Literal["tls"] = Field(description="Check type.")
    host: str = Field(description="Host to connect to.")
    port: int = Field(default=443, ge=1, le=65535, description="TLS port.")
    server_name: str | None = Field(
        default=None, description="Name sent as SNI and verified (default: host)."
    )
    cert_warning: Duration = Field(
        default=30 * DAY, description="A certificate expiring sooner makes the check degraded."
    )


class PostgresCheck(CheckBase):
    type: Literal["postgres"] = Field(description="Check type.")
    connection: str | None = Field(
        default=None,
        description="A name in `connections:` or a URL (default: the default connection).",
    )
    max_connections_used: Fraction = Field(
        default=0.9, description="Share of max_connections in use above which it is degraded."
    )
    max_replication_lag: Duration | None = Field(
        default=None, description="On a replica, replay lag above which it is degraded."
    )
    max_idle_in_transaction: Duration | None = Field(
        default=None,
        description="Age of the oldest idle-in-transaction session above which it is degraded.",
    )
    tables: int = Field(
        default=5,
        ge=0,
        le=100,
        description="How many of the largest tables get a dead-tuple ratio.",
    )


class RedisCheck(CheckBase):
    type: Literal["redis"] = Field(description="Check type.")
    url: str = Field(
        pattern=r"^rediss?://",
        description="Redis URL, e.g. redis://:${REDIS_PASSWORD}@host:6379/0.",
    )
    max_memory_used: Fraction | None = Field(
        default=None, description="Share of maxmemory in use above which it is degraded."
    )


class DiskCheck(CheckBase):
    type: Literal["disk"] = Field(description="Check type.")
    mounts: list[str] = Field(
        default_factory=list, description="Mount points to watch (default: every local disk)."
    )
    warn_used: Fraction = Field(default=0.8, description="Use above which a mount is degraded.")
    max_used: Fraction = Field(default=0.9, description="Use above which a mount fails.")


class MemoryCheck(CheckBase):
    type: Literal["memory"] = Field(description="Check type.")
    warn_used: Fraction = Field(default=0.85, description="Memory use above which it is degraded.")
    max_used: Fraction = Field(default=0.95, description="Memory use above which it fails.")


class CpuCheck(CheckBase):
    type: Literal["cpu", "load"] = Field(description="Check type (`load` is the same check).")
    warn_load_per_core: float = Field(
        default=1.5, gt=0, description="1-minute load per core above which it is degraded."
    )
    max_load_per_core: float | None = Field(
        default=None, gt=0, description="1-minute load per core above which it fails."
    )
    max_usage: Fraction | None = Field(
        default=None, description="CPU busy share since the last run above which it is degraded."
    )


class CommandCheck(CheckBase):
    type: Literal["command"] = Field(description="Check type.")
    command: str | list[str] = Field(
        description="A shell command line, or an argument list run without a shell."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for the command."
    )
    cwd: str | None = Field(
        default=None, description="Working folder, relative to the config file."
    )
    output: Literal["none", "key_value", "prometheus"] = Field(
        default="none",
        description="Read metrics from stdout: `key=value` lines or Prometheus text.",
    )
    warn_exit_codes: list[int] = Field(
        default_factory=list, description="Exit codes that mean degraded rather than failed."
    )


class PrometheusCheck(CheckBase, TlsSettings):
    type: Literal["prometheus"] = Field(description="Check type.")
    url: str = Field(pattern=r"^https?://", description="The /metrics URL to scrape.")
    keep: list[str] = Field(
        min_length=1,
        description="Metric names to keep; `*` globs allowed, e.g. http_requests_*.",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")


class LogCheck(CheckBase):
    type: Literal["log"] = Field(description="Check type.")
    path: str = Field(description="Log file to follow, relative to the config file.")
    patterns: dict[str, str] = Field(
        default_factory=dict,
        description="Named regular expressions whose matching lines are counted: {errors: ERROR}.",
    )
    max_matches: dict[str, int] = Field(
        default_factory=dict,
        description="Fail when a pattern matches this many new lines in one run: {errors: 10}.",
    )
    access_log: bool = Field(
        default=False,
        validate_default=True,
        description="Count HTTP responses by status class (common/combined format).",
    )
    max_5xx_ratio: Fraction | None = Field(
        default=None, description="With access_log: 5xx share of new requests that fails the check."
    )
    start_at: Literal["end", "beginning"] = Field(
        default="end", description="Where to start reading a file seen for the first time."
    )
    max_read: Size = Field(
        default=16 * 1024**2, description="Most bytes read in one run; the rest waits for the next."
    )

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for key, pattern in value.items():
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
                raise ValueError(f"pattern name {key!r} must be letters, digits and _")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{key}: invalid regular expression: {exc}") from None
        return value

    @field_validator("max_matches")
    @classmethod
    def _known_patterns(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        unknown = set(value) - set(info.data.get("patterns") or {})
        if unknown:
            raise ValueError(f"names unknown patterns: {', '.join(sorted(unknown))}")
        return value

    @field_validator("access_log")
    @classmethod
    def _something_to_count(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and not info.data.get("patterns"):
            raise ValueError("give patterns to count, or access_log: true")
        return value


CheckConfig = Annotated[
    HttpCheck
    | TcpCheck
    | DnsCheck
    | TlsCheck
    | PostgresCheck
    | RedisCheck
    | DiskCheck
    | MemoryCheck
    | CpuCheck
    | CommandCheck
    | PrometheusCheck
    | LogCheck,
    Field(discriminator="type"),
]


def _unique_names(checks: list[CheckConfig]) -> list[CheckConfig]:
    seen: set[str] = set()
    for check in checks:
        if check.name in seen:
            raise ValueError(f"two checks are named {check.name!r}; names must be unique")
        seen.add(check.name)
    return checks


CheckList = Annotated[list[CheckConfig], AfterValidator(_unique_names)]
