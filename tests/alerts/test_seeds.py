"""The seeds' alert rules, written as `opsbook import` writes them, load unchanged and fire on
real samples in the real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from opsbook.alerts import queries
from opsbook.alerts.rules import load_rules
from opsbook.alerts.worker import Evaluator
from opsbook.clock import FakeClock
from opsbook.config import Config, load_config
from opsbook.metrics.store import Sample, write_samples
from opsbook.storage import Database
from tests.alerts.conftest import Outbox

IMPORTED = """\
channels:
  pagerduty: ["json://127.0.0.1:9/pd"]
  slack: ["json://127.0.0.1:9/slack"]
  email: ["json://127.0.0.1:9/mail"]
alerting:
  default_channels: [slack]
alerts:
  # 000: opsbook dialect
  - name: high_error_rate
    condition: error_rate > 0.05
    for: 5m
    severity: critical
    channels: [pagerduty, slack]
    message: Error rate exceeded 5% for 5 minutes
    labels: {}
    annotations: {}
  - name: high_response_time
    condition: p95_latency > 3000
    for: 10m
    severity: warning
    channels: [slack]
    message: P95 latency exceeded 3s for 10 minutes
  - name: low_disk_space
    condition: disk_usage > 0.9
    for: 1m
    severity: critical
    channels: [pagerduty, email]
    message: Disk usage exceeded 90%
  - name: database_connections
    condition: connection_count > 90
    for: 5m
    severity: warning
    channels: [slack]
    message: Database connections near limit
  - name: memory_usage
    condition: memory_usage > 0.85
    for: 5m
    severity: warning
    channels: [slack]
    message: Memory usage exceeded 85%
  # 002: threshold dialect
  - {name: HighErrorRate, condition: error_rate > 5%, severity: Critical}
  - {name: SlowQueries, condition: p99_query_time > 1000ms, severity: High}
  - {name: DatabaseConnection, condition: connection_pool > 90%, severity: Critical}
  - {name: HighLatency, condition: p99_latency > 3000ms, severity: High}
  - {name: LowDiskSpace, condition: disk_free < 10%, severity: Critical}
  # 003: Prometheus dialect
  - name: HighErrorRate5xx
    expr: rate(http_requests_total{status=~"5.."}[5m]) > 0.05
    for: 2m
    severity: critical
    labels: {severity: critical}
    annotations: {summary: High error rate detected}
  - name: HighResponseTime
    expr: histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 1
    for: 5m
    severity: warning
    labels: {severity: warning}
    annotations: {summary: High response time detected}
thresholds:
  - {metric: P95 Latency, green: "< 500ms", yellow: "500-1000ms", red: "> 1000ms"}
  - {metric: Error Rate, green: "< 0.1%", yellow: "0.1-1%", red: "> 1%"}
  - {metric: Cache Hit Rate, green: "> 70%", yellow: "50-70%", red: "< 50%"}
  - {metric: Connection Pool, green: "< 50%", yellow: "50-80%", red: "> 80%"}
  - {metric: CPU Usage, green: "< 60%", yellow: "60-80%", red: "> 80%"}
  - {metric: Memory Usage, green: "< 70%", yellow: "70-90%", red: "> 90%"}
  - {metric: Slow queries, green: "< 5/min"}
  - {metric: Throughput, green: "> 100 req/s"}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "imported.yaml"
    path.write_text(IMPORTED)
    return load_config(path, env={})


def test_the_seeds_imported_rules_load_unchanged(config: Config) -> None:
    rules = {rule.name: rule for rule in load_rules(config)}
    assert len([n for n in rules if not n.startswith("notification_channel")]) == 12
    assert rules["high_response_time"].hold == 600
    assert rules["HighErrorRate"].channels == ("slack",)  # alerting.default_channels
    assert rules["HighErrorRate5xx"].compiled.dialect == "prometheus"


def test_the_seeds_own_yaml_blocks_load_as_written(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        "alerts:\n"
        "  - name: high_error_rate\n"
        "    condition: error_rate > 0.05\n"
        "    duration: 5m\n"
        "    severity: critical\n"
        "  - name: SlowQueries\n"
        "    threshold: p99_query_time > 1000ms\n"
        "    severity: High\n"
    )
    rules = load_rules(load_config(path, env={}))
    assert [(r.name, r.hold) for r in rules] == [("high_error_rate", 300), ("SlowQueries", 0)]


class Store:
    """Writes a minute of check samples every call, as checks would, at the fake clock's time."""

    def __init__(self, db: Database, clock: FakeClock) -> None:
        self.db, self.clock = db, clock

    def write(self, *samples: tuple[str, dict[str, str], float]) -> None:
        with self.db.write() as session:
            write_samples(
                session, [Sample(n, labels, v, self.clock.now()) for n, labels, v in samples]
            )


def healthy(minute: int) -> list[tuple[str, dict[str, str], float]]:
    return [
        ("check_up", {"check": "api"}, 1.0),
        ("http_response_status_code", {"check": "api"}, 200.0),
        ("check_duration_seconds", {"check": "api"}, 0.2),
        ("check_duration_seconds", {"check": "db"}, 0.05),
        ("pg_connections_max", {"check": "db"}, 100.0),
        ("pg_connections", {"check": "db", "state": "active"}, 20.0),
        ("pg_connections", {"check": "db", "state": "idle"}, 10.0),
        ("pg_connections_used_ratio", {"check": "db"}, 0.3),
        ("disk_used_ratio", {"check": "disk", "mount": "/"}, 0.5),
        ("disk_free_bytes", {"check": "disk", "mount": "/"}, 50e9),
        ("disk_total_bytes", {"check": "disk", "mount": "/"}, 100e9),
        ("memory_used_ratio", {"check": "mem"}, 0.5),
        ("http_requests_total", {"check": "app", "status": "500"}, 0.0),
        ("http_requests_total", {"check": "app", "status": "200"}, minute * 6000.0),
    ]


def broken(minute: int, since: int) -> list[tuple[str, dict[str, str], float]]:
    bad = minute - since
    return [
        ("check_up", {"check": "api"}, 0.0),
        ("http_response_status_code", {"check": "api"}, 503.0),
        ("check_duration_seconds", {"check": "api"}, 4.0),
        ("check_duration_seconds", {"check": "db"}, 1.5),
        ("pg_connections_max", {"check": "db"}, 100.0),
        ("pg_connections", {"check": "db", "state": "active"}, 80.0),
        ("pg_connections", {"check": "db", "state": "idle"}, 15.0),
        ("pg_connections_used_ratio", {"check": "db"}, 0.95),
        ("disk_used_ratio", {"check": "disk", "mount": "/"}, 0.95),
        ("disk_free_bytes", {"check": "disk", "mount": "/"}, 5e9),
        ("disk_total_bytes", {"check": "disk", "mount": "/"}, 100e9),
        ("memory_used_ratio", {"check": "mem"}, 0.9),
        ("http_requests_total", {"check": "app", "status": "500"}, bad * 600.0),
        ("http_requests_total", {"check": "app", "status": "200"}, minute * 6000.0),
    ]


@pytest.fixture
def evaluator(
    db: Database, clock: FakeClock, config: Config, outbox: Outbox
) -> Iterator[Evaluator]:
    yield Evaluator(db, clock, load_rules(config), node_id="node-a", enqueue=outbox, interval=60)


def test_the_seeds_rules_fire_on_real_metrics(
    db: Database, clock: FakeClock, evaluator: Evaluator
) -> None:
    store = Store(db, clock)
    for minute in range(10):
        store.write(*healthy(minute))
        evaluator.cycle()
        clock.advance(60)
    with db.read() as session:
        assert queries.current(session) == []
    for minute in range(10, 25):
        store.write(*broken(minute, since=10))
        evaluator.cycle()
        clock.advance(60)
    with db.read() as session:
        firing = {a.rule for a in queries.current(session, states=("firing",))}
    assert firing == {
        "high_error_rate",
        "high_response_time",
        "low_disk_space",
        "database_connections",
        "memory_usage",
        "HighErrorRate",
        "SlowQueries",
        "DatabaseConnection",
        "HighLatency",
        "LowDiskSpace",
        "HighErrorRate5xx",
    }


def test_a_node_without_the_lease_evaluates_nothing(
    db: Database, clock: FakeClock, config: Config, evaluator: Evaluator, outbox: Outbox
) -> None:
    Store(db, clock).write(*broken(0, since=0))
    other = Evaluator(db, clock, load_rules(config), node_id="node-b", enqueue=outbox)
    assert evaluator.cycle() is not None
    assert other.cycle() is None
    clock.advance(timedelta(seconds=evaluator.lease_ttl + 1).total_seconds())
    assert other.cycle() is not None
    assert evaluator.cycle() is None


SEEDS = Path(__file__).resolve().parents[1] / "seeds"
CHANNELS = (
    "channels:\n"
    '  pagerduty: ["json://127.0.0.1:9/pd"]\n'
    '  slack: ["json://127.0.0.1:9/slack"]\n'
    '  email: ["json://127.0.0.1:9/mail"]\n'
)


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_what_opsbook_import_writes_from_each_seed_loads(cli, tmp_path: Path, seed: Path) -> None:  # type: ignore[no-untyped-def]
    from opsbook.alerts.thresholds import compile_threshold

    assert cli("import", str(seed), "--out", str(tmp_path / "out")).exit_code == 0
    [written] = (tmp_path / "out").glob("*.yaml")
    path = tmp_path / "opsbook.yaml"
    path.write_text(f"include: [out/{written.name}]\n" + CHANNELS)
    config = load_config(path, env={})
    rules = load_rules(config)
    assert len(rules) >= len(config.settings.alerts)
    for row in config.settings.thresholds:
        compile_threshold(row.metric, row.green, row.yellow, row.red)
