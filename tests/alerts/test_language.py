from __future__ import annotations

import math

import pytest

from opsbook.alerts.language import ConditionError, compile_condition, evaluate
from opsbook.alerts.language.functions import bucket_quantile, extrapolated_rate, quantile
from opsbook.alerts.language.series import MemorySource
from opsbook.alerts.named import default_catalog

NOW = 1_000_000.0
CATALOG = default_catalog()


def run(text: str, source: MemorySource, dialect: str = "opsbook") -> dict[str, tuple[float, bool]]:
    compiled = compile_condition(text, CATALOG, dialect)
    outcome = evaluate(compiled.node, source, NOW, prometheus_matching=compiled.prometheus_matching)
    return {
        ",".join(f"{k}={v}" for k, v in labels): value for labels, value in outcome.series.items()
    }


def error(text: str, dialect: str = "opsbook") -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        compile_condition(text, CATALOG, dialect)
    return caught.value


@pytest.fixture
def source() -> MemorySource:
    data = MemorySource()
    for i in range(31):
        at = NOW - 300 + i * 10
        data.add("http_requests_total", {"check": "app", "status": "500"}, at, i * 10.0)
        data.add("http_requests_total", {"check": "app", "status": "200"}, at, i * 100.0)
        for bound, count in (("0.1", 50), ("0.5", 80), ("1", 95), ("+Inf", 100)):
            data.add("http_request_duration_seconds_bucket", {"le": bound}, at, float(i * count))
        data.add("check_up", {"check": "api"}, at, 1.0 if i < 25 else 0.0)
        data.add("http_response_status_code", {"check": "api"}, at, 200.0 if i < 25 else 500.0)
        data.add("disk_used_ratio", {"check": "disk", "mount": "/"}, at, 0.5 + i * 0.015)
        data.add("disk_used_ratio", {"check": "disk", "mount": "/data"}, at, 0.2)
    return data


def test_seed_003_error_rate_rule_is_evaluated_as_prometheus_does(source: MemorySource) -> None:
    result = run('rate(http_requests_total{status=~"5.."}[5m]) > 0.05', source, "prometheus")
    value, ok = result["check=app,status=500"]
    assert ok and value == pytest.approx(1.0)
    assert "check=app,status=200" not in result


def test_seed_003_latency_rule_interpolates_histogram_buckets(source: MemorySource) -> None:
    text = "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 1"
    ((value, ok),) = run(text, source, "prometheus").values()
    assert value == pytest.approx(1.0) and not ok
    ((value, ok),) = run(text.replace("0.95", "0.9"), source, "prometheus").values()
    assert value == pytest.approx(0.5 + 0.5 * (10 / 15))


def test_a_rule_reports_the_value_it_saw_when_it_does_not_match(source: MemorySource) -> None:
    result = run("disk_usage > 90%", source)
    assert result["check=disk,mount=/"] == (pytest.approx(0.95), True)
    assert result["check=disk,mount=/data"] == (pytest.approx(0.2), False)


def test_units_convert_into_the_unit_of_the_metric() -> None:
    data = MemorySource()
    data.add("check_duration_seconds", {"check": "api"}, NOW - 5, 1.5)
    data.add("check_duration_seconds", {"check": "api"}, NOW - 1, 1.5)
    data.add("http_response_status_code", {"check": "api"}, NOW - 1, 200.0)
    assert run("p95_latency > 1000ms", data)["check=api"] == (1500.0, True)
    assert run("p95_latency > 2s", data)["check=api"] == (1500.0, False)
    assert run("p95_latency > 1000", data)["check=api"] == (1500.0, True)
    assert run("check_duration_seconds > 1200ms", data)["check=api"][1] is True


def test_and_pairs_series_by_their_shared_labels(source: MemorySource) -> None:
    same_check = run("error_rate > 5% and availability < 90%", source)
    assert same_check["check=api"] == (pytest.approx(0.2), True)
    assert same_check["check=app"][1] is False  # the scraped app has no probe availability
    across = run("disk_usage > 90% and error_rate > 5%", source)
    assert across["check=disk,mount=/"][1] is False  # the disk check has no error rate
    anywhere = run("disk_usage > 90% and on() p95_latency > 0", source)
    assert anywhere["check=disk,mount=/"][1] is True


def test_or_keeps_what_either_side_matched(source: MemorySource) -> None:
    either = run("disk_usage > 99% or error_rate > 15%", source)
    assert either["check=api"][1] is True and either["check=disk,mount=/"][1] is False
    neither = run("disk_usage > 99% or error_rate > 50%", source)
    assert not any(ok for _, ok in neither.values())


def test_windows_functions_and_percentiles(source: MemorySource) -> None:
    assert run("avg(check_up[5m]) < 0.9", source)["check=api"] == (0.8, True)
    assert run("count(check_up[5m]) == 30", source)["check=api"][1]
    assert run("min(check_up[5m]) < 1", source)["check=api"][1]
    value, _ = run("p95(disk_used_ratio[5m]) > 0", source)["check=disk,mount=/"]
    assert value == pytest.approx(quantile(0.95, [0.5 + i * 0.015 for i in range(1, 31)]))
    assert run("max(disk_used_ratio) by (check) > 0.9", source) == {"check=disk": (0.95, True)}


def test_label_matchers_select_series(source: MemorySource) -> None:
    assert list(run('disk_usage{mount="/data"} > 10%', source)) == ["check=disk,mount=/data"]
    assert list(run('disk_usage{mount!~"/d.*"} > 10%', source)) == ["check=disk,mount=/"]


def test_sizes_and_percentages_are_literals() -> None:
    data = MemorySource()
    data.add("disk_free_bytes", {"mount": "/"}, NOW - 1, 1.5e9)
    assert run("disk_free_bytes < 2GB", data) == {"mount=/": (1.5e9, True)}
    assert run("disk_free_bytes < 1GiB", data) == {"mount=/": (1.5e9, False)}


def test_absent_fires_when_a_metric_has_no_data(source: MemorySource) -> None:
    assert run('absent(check_up{check="gone"})', source) == {"check=gone": (1.0, True)}
    assert run('absent(check_up{check="api"})', source) == {}


def test_an_unknown_metric_is_an_error_with_a_suggestion() -> None:
    problem = error("eror_rate > 0.05")
    assert "unknown metric 'eror_rate'" in problem.message
    assert "did you mean error_rate" in problem.message
    assert problem.column == 1


def test_a_prometheus_expression_may_read_any_series() -> None:
    compile_condition("my_app_queue_depth > 100", CATALOG, "prometheus")


def test_a_fraction_compared_with_a_whole_number_is_an_error() -> None:
    problem = error("disk_usage > 90")
    assert "fraction" in problem.message and "90%" in problem.message
    assert problem.column == 14


def test_comparing_across_dimensions_is_an_error() -> None:
    assert "cannot compare a duration (ms) with 2GB" in error("p95_latency > 2GB").message


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("error_rate >", 13, "ends too early"),
        ("rate(check_up[5m]", 18, "expected ')'"),
        ("error_rate = 1", 12, "use =="),
        ('check_up{check="a} > 1', 16, "no closing quote"),
        ("error_rate > 5% &", 17, "unexpected character"),
        ("rate(check_up) > 1", 6, "needs a range vector, not an instant vector"),
        ("nosuchfn(check_up) > 1", 1, "unknown function"),
        ("error_rate", 1, "must test something"),
        ("error_rate[5m] > 1", 1, "named metric"),
        ('check_up{check=~"("} > 0', 17, "invalid regular expression"),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    problem = error(text)
    assert fragment in problem.message
    assert problem.column == column


def test_an_error_on_a_later_line_names_that_line() -> None:
    problem = error("error_rate > 5%\n  and nonsense > 1")
    assert (problem.line, problem.column) == (2, 7)


def test_rate_extrapolates_and_handles_counter_resets() -> None:
    points = [(10.0, 5.0), (20.0, 10.0), (30.0, 2.0), (40.0, 7.0)]
    # increase 5 + 2 (after the reset) + 5 = 12 over 30 s sampled; extrapolated 10 s back to
    # the window's start (under 110 % of the 10 s spacing) and 5 s to its end.
    increase = extrapolated_rate(points, 0.0, 45.0, counter=True, per_second=False)
    assert increase == pytest.approx(12 * (30 + 10 + 5) / 30)


def test_histogram_quantile_of_the_inf_bucket_is_the_highest_bound() -> None:
    assert bucket_quantile(0.99, [(0.1, 10), (1.0, 20), (math.inf, 100)]) == 1.0
    assert math.isnan(bucket_quantile(0.5, [(0.1, 10), (1.0, 20)]))


def test_many_to_many_matching_is_an_evaluation_error() -> None:
    data = MemorySource()
    data.add("disk_used_ratio", {"check": "a", "mount": "/"}, NOW - 1, 0.5)
    data.add("disk_used_ratio", {"check": "b", "mount": "/"}, NOW - 1, 0.5)
    data.add("memory_used_ratio", {"check": "m1"}, NOW - 1, 0.5)
    data.add("memory_used_ratio", {"check": "m2"}, NOW - 1, 0.5)
    with pytest.raises(ConditionError, match="many-to-many"):
        run("disk_usage > on() memory_usage", data)


def test_a_named_metric_in_a_prometheus_expression_keeps_its_own_pairing(
    source: MemorySource,
) -> None:
    result = run("error_rate > 0.05", source, "prometheus")
    assert result == {
        "check=api": (pytest.approx(0.2), True),
        "check=app": (pytest.approx(1 / 11), True),
    }
