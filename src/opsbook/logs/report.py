"""The `logs scan` report: one JSON-ready document, its text form and the metrics it feeds."""

from __future__ import annotations

import heapq
import math
from datetime import UTC, datetime
from typing import Any

from opsbook.logs.aggregate import DENIED, Totals
from opsbook.logs.scan import ScanResult
from opsbook.logs.signatures import BRUTE_FORCE_THRESHOLD, SIGNATURES
from opsbook.texttable import text_table

TOP = 20


def build_report(result: ScanResult, *, threshold: int = BRUTE_FORCE_THRESHOLD) -> dict[str, Any]:
    """The report as `--json` prints it (see docs/maintenance.md for every field)."""
    t = result.totals
    return {
        "files": [vars(f) for f in result.files],
        "window": _window(result),
        "lines": {
            "total": t.lines,
            "blank": t.blank,
            "malformed": t.malformed,
            "before_window": t.before_window,
            "malformed_examples": t.malformed_examples,
        },
        "requests": _requests(t),
        "security": _security(t, threshold),
        "application": _application(t),
    }


def _iso(seconds: float | None) -> str | None:
    if seconds is None or not math.isfinite(seconds):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _window(result: ScanResult) -> dict[str, Any]:
    t = result.totals
    return {
        "since": _iso(result.cutoff),
        "until": result.now.isoformat() if result.now else None,
        "first_seen": _iso(t.first_time),
        "last_seen": _iso(t.last_time),
    }


def _requests(t: Totals) -> dict[str, Any]:
    total = t.requests
    codes = {str(c): n for c, n in sorted(t.status.items()) if n}
    classes = {f"{k}xx": sum(n for c, n in t.status.items() if c // 100 == k) for k in range(1, 6)}
    classes = {k: v for k, v in classes.items() if v}
    ratio_4xx = classes.get("4xx", 0) / total if total else 0.0
    ratio_5xx = classes.get("5xx", 0) / total if total else 0.0
    return {
        "total": total,
        "status": codes,
        "classes": classes,
        "rate_4xx": round(ratio_4xx, 6),
        "rate_5xx": round(ratio_5xx, 6),
        "bytes_sent": t.bytes_sent,
        "response_time": _quantiles(t),
        "top_endpoints": [
            {"endpoint": name, "requests": n, "errors_5xx": t.endpoint_5xx.get(name, 0)}
            for name, n in heapq.nsmallest(TOP, t.endpoints.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "per_hour": [
            {"hour": _iso(hour * 3600), "requests": n}
            for hour, n in sorted(t.requests_per_hour.items())
        ],
    }


def _quantiles(t: Totals) -> dict[str, Any] | None:
    count = t.timings.count()
    if not count:
        return None
    p50, p95, p99 = t.timings.quantiles([0.5, 0.95, 0.99])
    return {
        "unit": "seconds",
        "count": count,
        "p50": round(p50, 6),
        "p95": round(p95, 6),
        "p99": round(p99, 6),
    }


def _security(t: Totals, threshold: int) -> dict[str, Any]:
    logins = sorted(t.failed_logins.items(), key=lambda kv: (-kv[1], kv[0]))
    attacks = {}
    for signature in SIGNATURES:
        ips = t.attack_ips.get(signature.name)
        attacks[signature.name] = {
            "title": signature.title,
            "count": sum(ips.values()) if ips else 0,
            "top_ips": [{"ip": ip, "count": n} for ip, n in ips.most_common(5)] if ips else [],
            "examples": t.attack_examples.get(signature.name, []),
        }
    return {
        "denied_statuses": list(DENIED),
        "denied_total": t.denied.total(),
        "top_denied_ips": [
            {"ip": ip, "count": count, "by_status": by_status}
            for ip, count, by_status in t.denied.top(TOP)
        ],
        "failed_logins_total": sum(t.failed_logins.values()),
        "failed_logins": [{"ip": ip, "count": n} for ip, n in logins[:TOP]],
        "brute_force_threshold": threshold,
        "brute_force": [{"ip": ip, "failed_logins": n} for ip, n in logins if n > threshold],
        "attacks": attacks,
    }


def _application(t: Totals) -> dict[str, Any]:
    totals = {"ERROR": 0, "WARN": 0}
    hours = []
    for hour in sorted(t.levels_per_hour):
        levels = t.levels_per_hour[hour]
        totals["ERROR"] += levels.get("ERROR", 0)
        totals["WARN"] += levels.get("WARN", 0)
        hours.append(
            {
                "hour": _iso(hour * 3600),
                "ERROR": levels.get("ERROR", 0),
                "WARN": levels.get("WARN", 0),
            }
        )
    return {
        "events": t.events,
        "errors": totals["ERROR"],
        "warnings": totals["WARN"],
        "per_hour": hours,
    }


def render_text(report: dict[str, Any]) -> str:
    """The report as people read it (what the CLI prints and the action returns)."""
    parts = [_files_text(report), _requests_text(report["requests"])]
    parts.append(_security_text(report["security"]))
    app = report["application"]
    if app["per_hour"]:
        rows = [[h["hour"], h["ERROR"], h["WARN"]] for h in app["per_hour"]]
        parts.append(
            "Application log levels per hour\n" + text_table(["hour", "ERROR", "WARN"], rows)
        )
    return "\n\n".join(p for p in parts if p)


def _files_text(report: dict[str, Any]) -> str:
    lines = report["lines"]
    rows = [
        [f["path"], f["format"], f["lines"], f["malformed"], f["error"] or ""]
        for f in report["files"]
    ]
    head = text_table(["file", "format", "lines", "malformed", "note"], rows)
    window = report["window"]
    span = f"window: {window['since'] or 'all'} .. {window['until']}"
    counted = (
        f"{lines['total']} lines, {lines['malformed']} malformed (skipped), "
        f"{lines['before_window']} before the window"
    )
    return f"{head}\n{span}\n{counted}"


def _requests_text(req: dict[str, Any]) -> str:
    if not req["total"]:
        return "No requests."
    out = [
        f"Requests: {req['total']}  4xx: {req['rate_4xx']:.2%}  5xx: {req['rate_5xx']:.2%}  "
        f"bytes sent: {req['bytes_sent']}"
    ]
    out.append("Status: " + ", ".join(f"{c} {n}" for c, n in req["status"].items()))
    rt = req["response_time"]
    if rt:
        out.append(
            f"Response time (s): p50 {rt['p50']:.3f}  p95 {rt['p95']:.3f}  p99 {rt['p99']:.3f}"
            f"  ({rt['count']} timed)"
        )
    rows = [[e["endpoint"], e["requests"], e["errors_5xx"]] for e in req["top_endpoints"]]
    out.append("Busiest endpoints\n" + text_table(["endpoint", "requests", "5xx"], rows))
    return "\n".join(out)


def _security_text(sec: dict[str, Any]) -> str:
    out = []
    if sec["top_denied_ips"]:
        rows = [
            [e["ip"], e["count"], " ".join(f"{k}:{v}" for k, v in e["by_status"].items())]
            for e in sec["top_denied_ips"]
        ]
        out.append("Top IPs by 401/403/429\n" + text_table(["ip", "count", "by status"], rows))
    out.append(f"Failed logins: {sec['failed_logins_total']}")
    if sec["brute_force"]:
        rows = [[b["ip"], b["failed_logins"]] for b in sec["brute_force"]]
        title = f"Brute force (> {sec['brute_force_threshold']} failed logins from one IP)"
        out.append(title + "\n" + text_table(["ip", "failed logins"], rows))
    rows = [
        [a["title"], a["count"], ", ".join(i["ip"] for i in a["top_ips"][:3])]
        for a in sec["attacks"].values()
    ]
    out.append("Attack signatures\n" + text_table(["signature", "requests", "top IPs"], rows))
    return "\n".join(out)
