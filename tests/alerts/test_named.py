from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsbook.alerts.language import compile_condition
from opsbook.alerts.named import BUILTIN, FAMILIES, default_catalog

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_metric_the_checks_document_can_be_named_in_a_condition() -> None:
    text = (DOCS / "metrics.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_0-9]+)`(?:, `([a-z_0-9]+)`)*", text, re.M))
    names = {name for row in documented for name in row if name}
    names |= set(re.findall(r"`(cpu_load\d+)`", text))
    assert names - set(FAMILIES) == set()


@pytest.mark.parametrize("metric", BUILTIN, ids=lambda m: m.name)
def test_every_named_metric_compiles_over_recorded_families(metric: object) -> None:
    compile_condition(f"{metric.name} > 0", default_catalog())  # type: ignore[attr-defined]


def test_every_named_metric_is_in_the_docs_table() -> None:
    text = (DOCS / "alerts.md").read_text()
    missing = [m.name for m in BUILTIN if f"| `{m.name}` |" not in text]
    assert missing == []


@pytest.mark.parametrize(
    "written",
    [
        "P95 Latency",
        "Error Rate",
        "Cache Hit Rate",
        "Connection Pool",
        "CPU Usage",
        "Memory Usage",
        "CPU usage",
        "Memory",
        "Error rate",
        "Response time (p99)",
        "Connection pool",
        "Query time (p99)",
        "Slow queries",
        "Replication lag",
        "Request latency (p50)",
        "Request latency (p99)",
        "Throughput",
    ],
)
def test_the_seeds_threshold_metrics_resolve_to_named_metrics(written: str) -> None:
    assert default_catalog().by_alias(written) is not None
