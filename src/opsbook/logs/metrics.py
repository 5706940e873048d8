"""The metrics a log scan feeds to alert rules (documented in docs/maintenance.md).

Every value describes the scanned window (`--since`, else the whole files) and carries the
label `source`: the scanned file names, comma-separated, or the name the caller gives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsbook.maintenance.samples import Sample

METRICS = {
    "log_requests_total": "Requests in the window.",
    "log_requests_by_class_total": "Requests per status class (label `class`: 2xx ... 5xx).",
    "http_4xx_ratio": "Share of requests answered 4xx (0 to 1).",
    "http_5xx_ratio": "Share of requests answered 5xx (0 to 1).",
    "http_response_time_seconds": "Response time quantile (label `quantile`: 0.5, 0.95, 0.99).",
    "log_denied_requests_total": "Requests answered 401, 403 or 429.",
    "log_failed_logins_total": "Failed logins (login paths answered 401/403, and log messages).",
    "log_brute_force_ips": "IPs above the brute-force threshold of failed logins.",
    "log_attack_requests_total": "Requests matching an attack signature (label `signature`).",
    "log_errors_total": "Application log lines at ERROR level or above.",
    "log_warnings_total": "Application log lines at WARN level.",
    "log_malformed_lines_total": "Lines that could not be read and were skipped.",
}


def report_samples(report: dict[str, Any], at: datetime, source: str | None = None) -> list[Sample]:
    """The report's figures as samples at `at`."""
    label = source or ",".join(f["path"] for f in report["files"])
    base = {"source": label}
    req, sec, app = report["requests"], report["security"], report["application"]

    def sample(name: str, value: float, **extra: str) -> Sample:
        return Sample(name, {**base, **extra}, float(value), at)

    samples = [
        sample("log_requests_total", req["total"]),
        sample("http_4xx_ratio", req["rate_4xx"]),
        sample("http_5xx_ratio", req["rate_5xx"]),
        sample("log_denied_requests_total", sec["denied_total"]),
        sample("log_failed_logins_total", sec["failed_logins_total"]),
        sample("log_brute_force_ips", len(sec["brute_force"])),
        sample("log_errors_total", app["errors"]),
        sample("log_warnings_total", app["warnings"]),
        sample("log_malformed_lines_total", report["lines"]["malformed"]),
    ]
    for klass in ("2xx", "3xx", "4xx", "5xx"):
        samples.append(
            sample("log_requests_by_class_total", req["classes"].get(klass, 0), **{"class": klass})
        )
    for name, attack in sec["attacks"].items():
        samples.append(sample("log_attack_requests_total", attack["count"], signature=name))
    timing = req["response_time"]
    if timing:
        for quantile, key in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")):
            samples.append(sample("http_response_time_seconds", timing[key], quantile=quantile))
    return samples
