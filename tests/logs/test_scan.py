from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsbook.clock import FakeClock
from opsbook.logs.report import build_report
from opsbook.logs.scan import scan
from opsbook.logs.service import ScanRequest, run_scan
from tests.logs.builder import START, access, minutes


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


Report = Callable[..., dict[str, Any]]


@pytest.fixture
def report_of(engine: str) -> Report:
    """Scan files with the test's engine and return the report."""

    def run(*paths: Path, block_size: int = 8 << 20, **kw: Any) -> dict[str, Any]:
        now = kw.pop("now", START + timedelta(days=1))
        result = scan(list(paths), now=now, block_size=block_size, engine=engine, **kw)
        return build_report(result)

    return run


def mixed_access_log() -> list[str]:
    lines = []
    for i in range(100):
        lines.append(
            access(f"10.0.1.{i % 7}", f"GET /api/songs/{i} HTTP/1.1", 200, when=START + minutes(i))
        )
    for i in range(20):
        lines.append(
            access(
                "10.0.2.1",
                "GET /api/broken HTTP/1.1",
                500,
                when=START + minutes(i),
                duration="2.500",
            )
        )
    for i in range(10):
        lines.append(
            access("10.0.3.3", "GET /admin/settings HTTP/1.1", 403, when=START + minutes(i))
        )
    for i in range(5):
        lines.append(access("10.0.3.4", "GET /api/songs HTTP/1.1", 429, when=START + minutes(i)))
    return lines


def test_status_distribution_rates_and_busiest_endpoints(report_of: Report, tmp_path: Path) -> None:
    report = report_of(write(tmp_path / "access.log", mixed_access_log()))
    req = report["requests"]
    assert req["total"] == 135
    assert req["status"] == {"200": 100, "403": 10, "429": 5, "500": 20}
    assert req["rate_5xx"] == round(20 / 135, 6)
    assert req["rate_4xx"] == round(15 / 135, 6)
    assert req["top_endpoints"][0] == {
        "endpoint": "GET /api/songs/:id",
        "requests": 100,
        "errors_5xx": 0,
    }
    assert {"endpoint": "GET /api/broken", "requests": 20, "errors_5xx": 20} in req["top_endpoints"]
    assert req["bytes_sent"] == 135 * 512


def test_response_time_percentiles_come_from_the_trailing_field(
    report_of: Report, tmp_path: Path
) -> None:
    lines = [access(duration=f"{(i + 1) / 1000:.3f}", when=START + minutes(i)) for i in range(1000)]
    rt = report_of(write(tmp_path / "a.log", lines))["requests"]["response_time"]
    assert rt["count"] == 1000
    assert rt["p50"] == pytest.approx(0.5005, abs=1e-4)
    assert rt["p95"] == pytest.approx(0.95005, abs=1e-4)
    assert rt["p99"] == pytest.approx(0.99001, abs=1e-4)


def test_an_integer_trailing_field_is_apache_microseconds(
    report_of: Report, tmp_path: Path
) -> None:
    lines = [access(duration="250000")]
    rt = report_of(write(tmp_path / "a.log", lines), fmt="combined")["requests"]["response_time"]
    assert rt["p50"] == pytest.approx(0.25)


def test_a_log_without_response_times_reports_none(report_of: Report, tmp_path: Path) -> None:
    report = report_of(write(tmp_path / "a.log", [access(duration=None)] * 3))
    assert report["requests"]["response_time"] is None


def test_top_ips_by_401_403_429(report_of: Report, tmp_path: Path) -> None:
    sec = report_of(write(tmp_path / "a.log", mixed_access_log()))["security"]
    assert sec["top_denied_ips"] == [
        {"ip": "10.0.3.3", "count": 10, "by_status": {"403": 10}},
        {"ip": "10.0.3.4", "count": 5, "by_status": {"429": 5}},
    ]
    assert sec["denied_total"] == 15


def test_more_than_50_failed_logins_from_one_ip_is_brute_force(
    report_of: Report, tmp_path: Path
) -> None:
    lines = [
        access("203.0.113.9", "POST /login HTTP/1.1", 401, when=START + minutes(i / 10))
        for i in range(51)
    ]
    lines += [
        access("203.0.113.50", "POST /api/auth/login HTTP/1.1", 401, when=START) for _ in range(50)
    ]
    lines += [access("203.0.113.60", "GET /api/songs HTTP/1.1", 401, when=START) for _ in range(70)]
    sec = report_of(write(tmp_path / "a.log", lines))["security"]
    assert sec["failed_logins_total"] == 101
    assert sec["brute_force"] == [{"ip": "203.0.113.9", "failed_logins": 51}]
    assert {"ip": "203.0.113.50", "count": 50} in sec["failed_logins"]


def test_attack_signatures_are_counted_with_examples(report_of: Report, tmp_path: Path) -> None:
    lines = [access() for _ in range(50)]
    lines += [
        access(
            "198.51.100.1",
            "GET /search?q=1%27%20UNION%20SELECT%20password%20FROM%20users-- HTTP/1.1",
            200,
        )
    ] * 3
    lines += [access("198.51.100.2", "GET /?q=<script>alert(1)</script> HTTP/1.1", 400)] * 2
    lines += [access("198.51.100.3", "GET /static/../../etc/passwd HTTP/1.1", 404)] * 4
    lines += [
        access(
            "198.51.100.4",
            "GET /wp-admin HTTP/1.1",
            404,
            agent="sqlmap/1.7.2#stable (https://sqlmap.org)",
        )
    ] * 5
    attacks = report_of(write(tmp_path / "a.log", lines))["security"]["attacks"]
    counts = {name: a["count"] for name, a in attacks.items()}
    assert counts == {"sql_injection": 3, "xss": 2, "path_traversal": 4, "scanner": 5}
    example = attacks["path_traversal"]["examples"][0]
    assert example["ip"] == "198.51.100.3"
    assert example["line"] == 56
    assert attacks["scanner"]["top_ips"] == [{"ip": "198.51.100.4", "count": 5}]


def test_ordinary_requests_match_no_signature(report_of: Report, tmp_path: Path) -> None:
    lines = [
        access(request="GET /api/unions/select-plan?sort=desc HTTP/1.1"),
        access(request="GET /docs/script-writing HTTP/1.1"),
        access(request="GET /a/b/c.d/e HTTP/1.1"),
        access(request="POST /api/session/refresh HTTP/1.1"),
    ]
    attacks = report_of(write(tmp_path / "a.log", lines))["security"]["attacks"]
    assert all(a["count"] == 0 for a in attacks.values())


def test_malformed_lines_are_counted_and_skipped(report_of: Report, tmp_path: Path) -> None:
    good = [access(when=START + minutes(i)) for i in range(10)]
    bad = [
        "this is not an access log line",
        access()[:40],  # cut off in the middle
        access().replace("Jan/2026", "Foo/2026"),
        '\x00\x01\x02 binary junk "',
        access().replace(" 200 ", " 2x0 "),
    ]
    lines = good[:5] + bad + good[5:] + [""]
    report = report_of(write(tmp_path / "a.log", lines))
    assert report["requests"]["total"] == 10
    assert report["lines"]["malformed"] == 5
    assert report["lines"]["blank"] == 1
    assert [e["line"] for e in report["lines"]["malformed_examples"]] == [6, 7, 8, 9, 10]


def test_invalid_utf8_is_replaced_not_fatal(report_of: Report, tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(
        (access(request="GET /caf\xe9 HTTP/1.1") + "\n").encode("latin-1")
        + (access() + "\n").encode()
    )
    report = report_of(path)
    assert report["requests"]["total"] == 2
    assert report["requests"]["top_endpoints"][0]["endpoint"] in {
        "GET /caf\ufffd",
        "GET /api/songs/:id",
    }


def test_an_escaped_quote_in_the_agent_is_read_by_the_line_parser(
    report_of: Report, tmp_path: Path
) -> None:
    line = access(agent='Evil \\"quoted\\" agent', status=404)
    report = report_of(write(tmp_path / "a.log", [line, access()]))
    assert report["requests"]["total"] == 2
    assert report["lines"]["malformed"] == 0
    assert report["requests"]["status"] == {"200": 1, "404": 1}


def test_gzip_files_are_read_directly(report_of: Report, tmp_path: Path) -> None:
    plain = write(tmp_path / "access.log", mixed_access_log())
    packed = tmp_path / "access.log.1.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    from_plain, from_gzip = report_of(plain), report_of(packed)
    assert from_gzip["requests"] == from_plain["requests"]
    assert from_gzip["security"] == from_plain["security"]


def test_a_truncated_gzip_file_is_scanned_as_far_as_it_goes(
    report_of: Report, tmp_path: Path
) -> None:
    data = gzip.compress(("\n".join(mixed_access_log()) + "\n").encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(data[: len(data) // 2])
    report = report_of(cut)
    assert 0 < report["requests"]["total"] < 135
    assert "read stopped early" in report["files"][0]["error"]


def test_small_blocks_give_the_same_report_as_one_block(report_of: Report, tmp_path: Path) -> None:
    lines = [
        *mixed_access_log(),
        "garbage line",
        access("198.51.100.3", "GET /../../etc/passwd HTTP/1.1", 404),
    ]
    path = write(tmp_path / "a.log", lines * 20)
    whole, pieces = report_of(path), report_of(path, block_size=1000)
    assert pieces == whole
    assert whole["lines"]["malformed"] == 20
    assert whole["lines"]["malformed_examples"][1]["line"] == 136 + 137


def test_since_keeps_only_lines_inside_the_window(report_of: Report, tmp_path: Path) -> None:
    lines = [access(when=START + timedelta(hours=h)) for h in range(48)]
    report = report_of(
        write(tmp_path / "a.log", lines),
        since=24 * 3600,
        now=START + timedelta(hours=47, minutes=30),
    )
    assert report["requests"]["total"] == 24
    assert report["lines"]["before_window"] == 24
    assert report["window"]["first_seen"] == (START + timedelta(hours=24)).isoformat()


def test_application_log_errors_and_warnings_per_hour(report_of: Report, tmp_path: Path) -> None:
    lines = [
        "2026-01-05 09:01:00 ERROR db: connection refused",
        "Traceback (most recent call last):",
        '  File "app.py", line 3, in <module>',
        "2026-01-05 09:15:10,123 WARN cache miss storm",
        "2026-01-05T09:59:59Z [error] upstream timed out",
        "2026-01-05 10:00:00 WARNING disk 85% full",
        "2026-01-05 10:30:00 INFO started",
        "2026-01-05 10:31:00 ERROR authentication failed for user bob from 192.0.2.7",
    ]
    app = report_of(write(tmp_path / "api.log", lines))["application"]
    assert app["per_hour"] == [
        {"hour": "2026-01-05T09:00:00+00:00", "ERROR": 2, "WARN": 1},
        {"hour": "2026-01-05T10:00:00+00:00", "ERROR": 1, "WARN": 1},
    ]
    assert (app["errors"], app["warnings"], app["events"]) == (3, 2, 6)


def test_failed_logins_in_application_logs_count_per_ip(report_of: Report, tmp_path: Path) -> None:
    lines = [
        f"2026-01-05 09:{m:02d}:00 WARN authentication failed for admin from 192.0.2.7"
        for m in range(51)
    ]
    sec = report_of(write(tmp_path / "auth.log", lines))["security"]
    assert sec["brute_force"] == [{"ip": "192.0.2.7", "failed_logins": 51}]


def test_json_logs_give_requests_levels_and_malformed_lines(
    report_of: Report, tmp_path: Path
) -> None:
    records = [
        {
            "time": "2026-01-05T09:00:00Z",
            "level": "info",
            "method": "GET",
            "path": "/api/x",
            "status": 200,
            "duration_ms": 40,
            "ip": "10.1.1.1",
        },
        {
            "time": "2026-01-05T09:00:01Z",
            "level": "error",
            "method": "POST",
            "path": "/api/x",
            "status": 503,
            "duration_ms": 900,
            "ip": "10.1.1.2",
        },
        {"time": "2026-01-05T09:00:02Z", "level": "warn", "msg": "slow query"},
    ]
    lines = [json.dumps(r) for r in records] + [
        '{"time": "2026-01-05T09:00:03Z", "level": "err',
        "[1, 2]",
    ]
    report = report_of(write(tmp_path / "app.json", lines))
    assert report["files"][0]["format"] == "json"
    assert report["requests"]["status"] == {"200": 1, "503": 1}
    assert report["requests"]["response_time"]["p99"] == pytest.approx(0.8914)
    assert report["application"]["per_hour"] == [
        {"hour": "2026-01-05T09:00:00+00:00", "ERROR": 1, "WARN": 1}
    ]
    assert report["lines"]["malformed"] == 2


def test_run_scan_rejects_a_bad_since(tmp_path: Path) -> None:
    from opsbook.errors import UsageError

    with pytest.raises(UsageError, match="--since"):
        run_scan(ScanRequest([tmp_path / "x.log"], since="soon"), FakeClock())


def test_a_missing_file_is_named(report_of: Report, tmp_path: Path) -> None:
    from opsbook.errors import NotFoundError

    with pytest.raises(NotFoundError, match=r"nope\.log"):
        report_of(tmp_path / "nope.log")


def test_unusual_but_valid_lines_are_all_read(report_of: Report, tmp_path: Path) -> None:
    lines = [
        access(status=200) + "\r",  # CRLF
        access(duration=None).rsplit(' "-"', 1)[0],  # common log format: no referer or agent
        access(duration=None) + ' "198.51.100.7" 0.250',  # nginx with $http_x_forwarded_for
        access(request="-", status=400, size="-"),  # a request line that is not one
        access(request="GET /no-protocol", status=404),
        access(request="GET /h2 HTTP/2.0", duration="-"),
        access().replace("Jan/2026", "jan/2026"),  # any case of month name
        access().replace("+0000", "-0700"),
    ]
    report = report_of(write(tmp_path / "a.log", lines))
    req = report["requests"]
    assert (req["total"], report["lines"]["malformed"]) == (8, 0)
    assert req["status"] == {"200": 6, "400": 1, "404": 1}
    assert req["response_time"]["count"] == 6
    assert req["bytes_sent"] == 7 * 512
    endpoints = {e["endpoint"] for e in req["top_endpoints"]}
    assert {"-", "GET /no-protocol", "GET /h2", "GET /api/songs/:id"} == endpoints
    assert report["window"]["last_seen"] == (START + timedelta(hours=7)).isoformat()


def test_binary_data_without_newlines_is_cut_and_counted_not_fatal(
    report_of: Report, tmp_path: Path
) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(
        (access() + "\n").encode() + bytes(range(1, 10)) * 1000 + b"\n" + (access() + "\n").encode()
    )
    report = report_of(path, block_size=1000)
    assert report["requests"]["total"] == 2
    assert report["lines"]["malformed"] >= 1


def test_response_time_percentiles_are_exact_beyond_whole_milliseconds(
    report_of: Report, tmp_path: Path
) -> None:
    times = [f"{(i % 700) / 1000:.3f}" for i in range(600)]
    times += ["70.000", "65.536", "0.0005", "0.1234", "123.456", "3600.5"] * 20
    lines = [access(duration=t, when=START + minutes(i / 100)) for i, t in enumerate(times)]
    rt = report_of(write(tmp_path / "a.log", lines), fmt="nginx")["requests"]["response_time"]
    exact = np.quantile([float(t) for t in times], [0.5, 0.95, 0.99]).tolist()
    assert rt["count"] == len(times)
    assert [rt["p50"], rt["p95"], rt["p99"]] == [round(q, 6) for q in exact]


def test_attack_words_and_bytes_are_found_wherever_they_fall(
    report_of: Report, tmp_path: Path
) -> None:
    """The kernel reads requests 16 bytes at a time: try every offset in three such steps."""
    lines = []
    for pad in range(48):
        lines.append(access("198.51.100.1", f"GET /{'a' * pad}/ETC/passwd HTTP/1.1", 404))
        lines.append(
            access("198.51.100.2", f"GET /{'b' * pad}?id=1%27%20or%20%271%27%3d%271 HTTP/1.1")
        )
        lines.append(access("198.51.100.3", f"GET /{'c' * pad}?q=1+UNION+SELECT+2 HTTP/1.1"))
        lines.append(access("198.51.100.4", f"GET /{'d' * pad}?q=<script> HTTP/1.1"))
        lines.append(access("10.0.0.9", f"GET /{'e' * pad}/unions/selection HTTP/1.1"))
    attacks = report_of(write(tmp_path / "a.log", lines))["security"]["attacks"]
    assert attacks["path_traversal"]["count"] == 48
    assert attacks["sql_injection"]["count"] == 96
    assert attacks["xss"]["count"] == 48
    assert all(ip["ip"] != "10.0.0.9" for a in attacks.values() for ip in a["top_ips"])


def test_requests_months_apart_are_counted_per_hour(report_of: Report, tmp_path: Path) -> None:
    far = [START, START + timedelta(days=60), START - timedelta(days=90)]
    lines = [access(when=when + minutes(i)) for when in far for i in range(3)]
    per_hour = report_of(write(tmp_path / "a.log", lines))["requests"]["per_hour"]
    assert per_hour == [
        {"hour": when.replace(minute=0).isoformat(), "requests": 3} for when in sorted(far)
    ]


@pytest.mark.parametrize("length", [1, 15, 16, 17, 55, 60, 61, 62, 63, 64, 65, 70, 250])
def test_endpoints_of_any_length_fold_their_ids(
    report_of: Report, tmp_path: Path, length: int
) -> None:
    path = "/" + "x" * length
    lines = [
        access(request=f"GET {path}/1234/y/123e4567-e89b-12d3-a456-426614174000 HTTP/1.1"),
        access(request=f"GET {path}/99/y/00000000-0000-0000-0000-000000000000?q=/1 HTTP/1.1"),
    ]
    top = report_of(write(tmp_path / "a.log", lines))["requests"]["top_endpoints"]
    assert top == [{"endpoint": f"GET {path}/:id/y/:id"[:200], "requests": 2, "errors_5xx": 0}]


def test_a_size_too_large_for_any_response_is_malformed_not_fatal(
    report_of: Report, tmp_path: Path
) -> None:
    lines = [access(size="99999999999999999999"), access(size="999999999999999999"), access()]
    report = report_of(write(tmp_path / "a.log", lines))
    assert (report["requests"]["total"], report["lines"]["malformed"]) == (2, 1)
    assert report["requests"]["bytes_sent"] == 999999999999999999 + 512
