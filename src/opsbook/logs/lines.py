"""Line-by-line readers: access lines the fast path left over, JSON logs and application logs."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsbook.logs.signatures import FAILED_LOGIN_MESSAGE, IP_IN_TEXT, level_class

ACCESS_LINE = re.compile(
    r'^(?P<ip>\S+) \S+ (?P<user>.*?) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r"(?P<status>\d{3}) (?P<size>\d{1,18}(?!\d)|-)(?P<rest>.*)$"
)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')
_PROTOCOL = re.compile(r" HTTP/[\d.]+$")
_ISO_TIME = re.compile(
    r"^\[?(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<clock>\d{2}:\d{2}(?::\d{2})?)(?P<frac>[.,]\d+)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?\]?"
)
_SYSLOG_TIME = re.compile(r"^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<clock>\d{2}:\d{2}:\d{2})")
_LEVEL = re.compile(
    r"[\[\s|:(<]?\b(ERROR|ERR|WARN|WARNING|INFO|DEBUG|TRACE|NOTICE|CRITICAL|CRIT|FATAL|SEVERE|ALERT|EMERG)\b",
    re.IGNORECASE,
)


@dataclass
class RequestRow:
    ip: str
    time: float  # Unix seconds
    request: str  # without protocol
    status: int
    size: int
    user_agent: str
    duration: float  # seconds, NaN when absent
    line: int


@dataclass
class AppEvent:
    time: float | None  # Unix seconds; None for continuation lines
    level: str | None  # "ERROR", "WARN" or None
    failed_login_ip: str | None = None


@dataclass
class Parsed:
    """What a line was: a request, an application event, both, or malformed."""

    request: RequestRow | None = None
    event: AppEvent | None = None
    malformed: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


def parse_clf_time(text: str) -> float | None:
    try:
        return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    except ValueError:
        return None


def parse_access_line(text: str, line: int, *, integer_is_micros: bool = True) -> RequestRow | None:
    """A combined/common/nginx line, escaped quotes included; None when it is not one."""
    match = ACCESS_LINE.match(text.rstrip("\r"))
    if match is None:
        return None
    when = parse_clf_time(match["time"])
    if when is None:
        return None
    tokens = _TOKEN.findall(match["rest"])
    quoted = [t[1:-1] for t in tokens if t.startswith('"')]
    agent = quoted[1] if len(quoted) >= 2 else ""
    duration = math.nan
    if len(quoted) >= 2:
        duration = _trailing_duration(tokens, integer_is_micros)
    request = _PROTOCOL.sub("", match["request"])
    size = int(match["size"]) if match["size"] != "-" else 0
    return RequestRow(match["ip"], when, request, int(match["status"]), size, agent, duration, line)


def _trailing_duration(tokens: list[str], integer_is_micros: bool) -> float:
    last_quoted = max(i for i, t in enumerate(tokens) if t.startswith('"'))
    if last_quoted + 1 >= len(tokens):
        return math.nan
    token = tokens[last_quoted + 1]
    try:
        value = float(token)
    except ValueError:
        return math.nan
    if "." not in token and integer_is_micros:
        return value / 1e6
    return value


def parse_app_line(text: str, line: int, year: int) -> AppEvent:
    """An application-log line: its time (None for a continuation line) and level."""
    when, rest = _app_time(text.lstrip("\ufeff"), year)
    if when is None:
        return AppEvent(None, None)
    level = _LEVEL.search(rest[:80])
    ip = None
    if FAILED_LOGIN_MESSAGE.search(rest):
        found = IP_IN_TEXT.search(rest)
        ip = found.group(1) if found else "unknown"
    return AppEvent(when, level_class(level.group(1)) if level else None, ip)


def _app_time(text: str, year: int) -> tuple[float | None, str]:
    match = _ISO_TIME.match(text)
    if match:
        clock = match["clock"] if match["clock"].count(":") == 2 else match["clock"] + ":00"
        tz = match["tz"] or "+00:00"
        tz = "+00:00" if tz == "Z" else tz if ":" in tz else f"{tz[:3]}:{tz[3:]}"
        try:
            when = datetime.fromisoformat(f"{match['date']}T{clock}{tz}").timestamp()
        except ValueError:
            return None, text
        return when, text[match.end() :]
    match = _SYSLOG_TIME.match(text)
    if match:
        try:
            stamp = datetime.strptime(
                f"{year} {match['mon']} {match['day']} {match['clock']}", "%Y %b %d %H:%M:%S"
            )
        except ValueError:
            return None, text
        return stamp.replace(tzinfo=UTC).timestamp(), text[match.end() :]
    return None, text


_JSON_KEYS = {
    "time": ("time", "timestamp", "ts", "@timestamp", "date", "datetime"),
    "level": ("level", "severity", "lvl", "log.level", "levelname"),
    "status": ("status", "status_code", "statusCode", "response_status", "res.statusCode"),
    "path": ("path", "uri", "url", "request_uri", "request", "req.url"),
    "method": ("method", "request_method", "req.method"),
    "ip": ("ip", "remote_addr", "client_ip", "remote_ip", "clientIp", "req.remoteAddress"),
    "agent": ("user_agent", "http_user_agent", "userAgent", "ua", "req.headers.user-agent"),
    "message": ("message", "msg", "error"),
}
_DURATION_KEYS = (
    ("duration_ms", 1e-3),
    ("response_time_ms", 1e-3),
    ("responseTime", 1e-3),
    ("response_time", 1e-3),
    ("elapsed_ms", 1e-3),
    ("request_time", 1.0),
    ("duration_s", 1.0),
    ("duration", 1e-3),
    ("latency_ms", 1e-3),
)


def parse_json_line(text: str, line: int) -> Parsed:
    """A JSON log line: a request when it has a status, an application event when it has a level."""
    try:
        record = json.loads(text)
    except ValueError:
        return Parsed(malformed=True)
    if not isinstance(record, dict):
        return Parsed(malformed=True)
    when = _json_time(_pick(record, "time"))
    if when is None:
        return Parsed(malformed=True)
    parsed = Parsed()
    status = _pick(record, "status")
    if isinstance(status, int | str) and str(status).isdigit() and len(str(status)) == 3:
        method = str(_pick(record, "method") or "").upper()
        path = str(_pick(record, "path") or "")
        request = f"{method} {path}".strip()
        parsed.request = RequestRow(
            str(_pick(record, "ip") or "-"),
            when,
            request,
            int(status),
            _int(record.get("bytes", record.get("size", 0))),
            str(_pick(record, "agent") or ""),
            _json_duration(record),
            line,
        )
    level = _pick(record, "level")
    message = str(_pick(record, "message") or "")
    ip = None
    if FAILED_LOGIN_MESSAGE.search(message):
        ip = str(_pick(record, "ip") or _ip_in(message))
    if level is not None or ip is not None:
        parsed.event = AppEvent(when, level_class(str(level)) if level is not None else None, ip)
    return parsed


def _pick(record: dict[str, Any], what: str) -> Any:
    for key in _JSON_KEYS[what]:
        value: Any = record
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def _json_time(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0 if value > 1e11 else float(value)
    if isinstance(value, str):
        when, _ = _app_time(value, 1970)
        return when
    return None


def _json_duration(record: dict[str, Any]) -> float:
    for key, scale in _DURATION_KEYS:
        value = record.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) * scale
    return math.nan


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ip_in(text: str) -> str:
    found = IP_IN_TEXT.search(text)
    return found.group(1) if found else "unknown"
