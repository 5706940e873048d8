from __future__ import annotations

import pytest

from opsbook.alerts.language.series import MemorySource
from opsbook.alerts.thresholds import Color, compile_threshold, evaluate_thresholds

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("row", "value", "color"),
    [
        (("P95 Latency", "< 500ms", "500-1000ms", "> 1000ms"), 499.0, Color.GREEN),
        (("P95 Latency", "< 500ms", "500-1000ms", "> 1000ms"), 500.0, Color.YELLOW),
        (("P95 Latency", "< 500ms", "500-1000ms", "> 1000ms"), 1000.5, Color.RED),
        (("Error Rate", "< 0.1%", "0.1-1%", "> 1%"), 0.005, Color.YELLOW),
        (("Cache Hit Rate", "> 70%", "50-70%", "< 50%"), 0.4, Color.RED),
        (("Cache Hit Rate", "> 70%", "50-70%", "< 50%"), 0.9, Color.GREEN),
        (("CPU usage", "< 70%", "", ""), 0.75, Color.RED),
        (("Replication lag", "< 1s", "", ""), 0.5, Color.GREEN),
        (("Throughput", "> 100 req/s", "", ""), 50.0, Color.RED),
        (("Query time (p99)", "< 500ms", "", ""), 400.0, Color.GREEN),
    ],
)
def test_runbook_threshold_rows_color_values(
    row: tuple[str, str, str, str], value: float, color: Color
) -> None:
    assert compile_threshold(*row).color(value) is color


def test_a_figure_nothing_records_is_shown_as_not_measured() -> None:
    row = compile_threshold("User Satisfaction Score", "> 4.5/5", "", "<= 4.5/5")
    assert row.compiled is None and "User Satisfaction Score" in row.unmeasured
    [status] = evaluate_thresholds([row], MemorySource(), NOW)
    assert (status.color, status.display) == (Color.UNKNOWN, "not measured")


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ("API Response Time (95th percentile)", "p95_latency"),
        ("Error Rate (of requests)", "error_rate"),
        ("Success Rate", "success_rate"),
        ("SSL certificate expiry (remaining)", "certificate_expiry"),
        ("Failed authentication attempts", "failed_logins"),
    ],
)
def test_runbook_wordings_resolve_to_named_metrics(written: str, named: str) -> None:
    assert compile_threshold(written, "< 1", "", "").resolved == named


def test_spelled_durations_and_hourly_rates_are_read() -> None:
    expiry = compile_threshold("SSL certificate expiry (remaining)", "> 30 days", "", "")
    assert expiry.green is not None and expiry.green.low == 30 * 86400
    logins = compile_threshold("Failed authentication attempts", "< 100/hour", "", "")
    assert logins.green is not None and logins.green.high == pytest.approx(100)


def test_a_band_in_the_wrong_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="is a size"):
        compile_threshold("P95 Latency", "< 2GB", "", "")


def test_thresholds_are_evaluated_over_series_like_rules() -> None:
    source = MemorySource()
    source.add("disk_used_ratio", {"mount": "/"}, NOW - 10, 0.95)
    source.add("disk_used_ratio", {"mount": "/data"}, NOW - 10, 0.30)
    row = compile_threshold("Disk Usage", "< 80%", "80-90%", "> 90%")
    statuses = evaluate_thresholds([row], source, NOW)
    assert [(s.labels["mount"], s.color, s.display) for s in statuses] == [
        ("/", Color.RED, "95%"),
        ("/data", Color.GREEN, "30%"),
    ]


def test_a_threshold_without_data_is_unknown() -> None:
    row = compile_threshold("Memory Usage", "< 70%", "70-90%", "> 90%")
    [status] = evaluate_thresholds([row], MemorySource(), NOW)
    assert status.color is Color.UNKNOWN and status.display == "no data"
