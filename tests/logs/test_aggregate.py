"""The running totals: exact quantiles from millisecond counts, denied IPs, line-parser rows."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsbook.logs.aggregate import MS_SLOTS, DeniedCounts, Timings, Totals, add_rows, endpoint_of
from opsbook.logs.columnar import add_requests, add_timings, requests_from_rows
from opsbook.logs.lines import RequestRow
from opsbook.logs.report import build_report
from opsbook.logs.scan import ScanResult

QUANTILES = [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]


def _nginx_times(rng: random.Random, n: int) -> list[float]:
    """What nginx's $request_time gives: seconds with three decimals."""
    return [float(f"{rng.expovariate(1 / 0.08):.3f}") for _ in range(n)]


def test_millisecond_counts_give_the_quantiles_of_sorting_every_value() -> None:
    values = _nginx_times(random.Random(1), 20001)
    timings = Timings()
    timings.add(values)
    assert not timings.other  # all of them counted per millisecond
    assert timings.quantiles(QUANTILES) == np.quantile(values, QUANTILES).tolist()


def test_times_that_are_not_whole_milliseconds_or_too_long_are_kept_exactly() -> None:
    rng = random.Random(2)
    values = _nginx_times(rng, 3000)
    values += [70.0, 65.536, 65.535, 1e9, 0.0005, 0.1234, 2.5e-7]  # past the slots; not ms
    values += [rng.randint(1, 5_000_000) / 1e6 for _ in range(3000)]  # Apache's microseconds
    rng.shuffle(values)
    timings = Timings()
    timings.add(values)
    assert 65.535 * 1000 < MS_SLOTS <= 65.536 * 1000
    assert 70.0 in np.concatenate(timings.other) and 65.535 not in np.concatenate(timings.other)
    assert timings.count() == len(values)
    assert timings.quantiles(QUANTILES) == np.quantile(values, QUANTILES).tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 70_000).map(lambda ms: ms / 1000),
            st.floats(0, 1e6, allow_nan=False),
            st.just(math.nan),
        ),
        min_size=1,
    )
)
def test_quantiles_equal_numpy_for_any_times(values: list[float]) -> None:
    timed = [v for v in values if not math.isnan(v)]
    timings = Timings()
    timings.add(values)
    if not timed:
        assert timings.count() == 0
        return
    assert timings.quantiles(QUANTILES) == np.quantile(timed, QUANTILES).tolist()


def test_numpy_and_python_split_times_alike() -> None:
    values = [*_nginx_times(random.Random(3), 500), 70.0, 0.0005, math.nan, math.inf]
    by_python, by_numpy = Totals(), Totals()
    by_python.timings.add(values)
    add_timings(by_numpy, np.array(values))
    assert by_numpy.timings.per_ms == by_python.timings.per_ms
    assert list(np.concatenate(by_numpy.timings.other)) == [70.0, 0.0005, math.inf]


def test_merged_timings_give_the_quantiles_of_all_values() -> None:
    rng = random.Random(4)
    first, second = _nginx_times(rng, 1000), [*_nginx_times(rng, 999), 100.25]
    merged, other = Timings(), Timings()
    merged.add(first)
    other.add(second)
    merged.merge(other)
    assert merged.quantiles(QUANTILES) == np.quantile(first + second, QUANTILES).tolist()


def test_top_denied_ips_break_ties_by_ip_and_keep_twenty() -> None:
    denied = DeniedCounts()
    for i in range(25):
        denied.add(f"10.0.0.{i:02d}", 401, 3)
    denied.add("10.0.0.24", 429)
    denied.add_table(["10.0.0.03", "10.9.9.9"], [0, 1, 0, 0, 0, 2])
    top = denied.top(20)
    assert top[0] == ("10.0.0.03", 4, {"401": 3, "403": 1})
    assert top[1] == ("10.0.0.24", 4, {"401": 3, "429": 1})
    assert [ip for ip, _, _ in top[2:]] == [f"10.0.0.{i:02d}" for i in range(19) if i != 3]
    assert denied.total() == 25 * 3 + 1 + 1 + 2


def _rows() -> list[RequestRow]:
    agent = "Mozilla/5.0"
    return [
        RequestRow("10.0.0.1", 1000.0, "GET /api/songs/12?x=1", 200, 10, agent, 0.12, 1),
        RequestRow("10.0.0.1", 1000.0, "GET /api/songs/13", 503, 10, agent, 70.0, 2),
        RequestRow("10.0.0.2", 4000.0, "POST /login", 401, 0, agent, math.nan, 3),
        RequestRow("10.0.0.2", 4000.0, "POST /login", 403, 0, agent, 0.001, 4),
        RequestRow("10.0.0.3", 4000.0, "GET /admin", 429, 0, agent, 0.002, 5),
        RequestRow("10.0.0.4", 9000.0, "GET /../../etc/passwd", 404, 5, agent, 0.5, 6),
        RequestRow("10.0.0.5", 9000.0, "GET /", 200, 5, "sqlmap/1.7", 0.25, 7),
        RequestRow("10.0.0.6", 9000.0, "GET /f/0123456789abcdef0123/x", 200, 1, agent, 0.1, 8),
        RequestRow("10.0.0.7", 10.0, "GET /early", 200, 1, agent, 0.1, 9),
    ]


@pytest.mark.parametrize("cutoff", [None, 100.0])
def test_line_parser_rows_count_as_the_columnar_engine_counts_them(cutoff: float | None) -> None:
    in_python, in_columns = Totals(), Totals()
    add_rows(in_python, _rows(), "a.log", cutoff)
    add_requests(in_columns, requests_from_rows(_rows()), "a.log", cutoff)
    assert build_report(ScanResult(in_python)) == build_report(ScanResult(in_columns))
    assert in_python.before_window == (1 if cutoff else 0)


@pytest.mark.parametrize(
    ("request_line", "endpoint"),
    [
        ("GET /api/songs/12?page=2", "GET /api/songs/:id"),
        ("GET /a/1/2/3", "GET /a/:id/:id/:id"),
        ("GET /u/123e4567-e89b-12d3-a456-426614174000/x", "GET /u/:id/x"),
        ("GET /h/0123456789abcdeF", "GET /h/:id"),
        ("GET /h/0123456789abcde", "GET /h/0123456789abcde"),
        ("GET //x/", "GET //x/"),
        ("-", "-"),
        ("GET /" + "z" * 300, "GET /" + "z" * 195),
    ],
)
def test_endpoints_fold_ids_and_drop_the_query(request_line: str, endpoint: str) -> None:
    assert endpoint_of(request_line) == endpoint
