"""The named metrics runbooks talk about, defined once from the metrics opsbook records.

Runbooks write `error_rate > 0.05`, `p95_latency > 3000`, `connection_pool > 90%` or a table row
`P95 Latency | < 500ms | ...`. Each name below is an expression in the condition language over
recorded metric families (checks, the log scanner, the scheduler), with the unit people use for
it: latencies in milliseconds, usages and rates as fractions. Where several sources can give the
same figure the definition takes the first that has data (`a or b`).

docs/alerts.md renders this table; `FAMILIES` lists the recorded metrics a condition may name
directly. A name in neither is a config error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opsbook.alerts.language.check import NamedMetric
from opsbook.alerts.language.units import (
    FRACTION,
    MILLISECONDS,
    PER_HOUR,
    PER_MINUTE,
    PER_SECOND,
    SECONDS,
)

# Recorded metric families that conditions may name directly, with the labels they carry.
# docs/metrics.md is the reference; a test keeps this list in step with it.
FAMILIES: dict[str, str] = {
    # every check
    "check_up": "1 when the check's run succeeded, 0 when it failed {check}",
    "check_duration_seconds": "how long the check's run took {check}",
    "check_status": "0 healthy, 1 degraded, 2 unhealthy after flap control {check}",
    # http, tls
    "http_response_status_code": "status code of the last answer {check}",
    "http_response_size_bytes": "size of the response body {check}",
    "tls_cert_expiry_seconds": "seconds until the certificate expires {check}",
    "tls_cert_not_after_timestamp_seconds": "the certificate's notAfter {check}",
    "dns_answers": "records in the last answer {check}",
    # postgres
    "pg_connections": "client connections by state {check, state}",
    "pg_connections_max": "max_connections {check}",
    "pg_connections_used_ratio": "connections / max_connections {check}",
    "pg_longest_query_seconds": "age of the longest-running query {check}",
    "pg_oldest_idle_in_transaction_seconds": "oldest idle-in-transaction session {check}",
    "pg_dead_tuple_ratio": "dead / (live + dead) tuples {check, table}",
    "pg_database_size_bytes": "database size {check, database}",
    "pg_replica": "1 on a replica {check}",
    "pg_replication_lag_seconds": "time since the last replayed transaction {check}",
    # redis
    "redis_ops_per_second": "commands per second {check}",
    "redis_commands_processed_total": "commands processed {check}",
    "redis_memory_used_bytes": "used_memory {check}",
    "redis_memory_max_bytes": "maxmemory {check}",
    "redis_memory_used_ratio": "used_memory / maxmemory {check}",
    "redis_connected_clients": "connected clients {check}",
    "redis_blocked_clients": "blocked clients {check}",
    "redis_evicted_keys_total": "keys evicted {check}",
    "redis_keyspace_hits_total": "key lookups that hit {check}",
    "redis_keyspace_misses_total": "key lookups that missed {check}",
    "redis_keyspace_hit_ratio": "hits / lookups since start {check}",
    # host
    "disk_total_bytes": "file system size {check, mount}",
    "disk_used_bytes": "bytes used {check, mount}",
    "disk_free_bytes": "bytes available {check, mount}",
    "disk_used_ratio": "used / (used + free) {check, mount}",
    "disk_inodes_used_ratio": "inodes in use {check, mount}",
    "memory_total_bytes": "physical memory {check}",
    "memory_available_bytes": "memory available without swapping {check}",
    "memory_used_ratio": "1 - available / total {check}",
    "swap_used_ratio": "swap in use {check}",
    "cpu_load1": "1-minute load average {check}",
    "cpu_load5": "5-minute load average {check}",
    "cpu_load15": "15-minute load average {check}",
    "cpu_load1_per_core": "1-minute load per core {check}",
    "cpu_cores": "logical cores {check}",
    "cpu_usage_ratio": "busy share of CPU time {check}",
    # command, prometheus, log checks
    "command_exit_code": "exit code of the command {check}",
    "scrape_samples_scraped": "samples the endpoint exposed {check}",
    "log_lines_total": "lines read {check}",
    "log_matches_total": "lines matching each pattern {check, pattern}",
    "log_http_responses_total": "access-log responses by class {check, code}",
    "log_http_5xx_ratio": "5xx share of the last run's requests {check}",
    "log_rotations_total": "rotations followed {check}",
    # conventional application metrics, as scraped by prometheus checks
    "http_requests_total": "requests served, as applications expose it {check, status, ...}",
    "http_request_duration_seconds_bucket": "request duration histogram {check, le, ...}",
    # scheduler and backups
    "job_last_success_timestamp_seconds": "when the job last succeeded {job}",
    "job_last_run_failed": "1 when the job's last run failed {job}",
    "job_overdue": "1 while the job has not succeeded since its last fire plus grace {job}",
    "backup_age_seconds": "age of the newest verified backup {target}",
    "backup_last_failed": "1 when the last backup or restore test failed {target}",
    "backup_restore_seconds": "how long the last restore test took {target}",
    "backup_rpo_seconds": "the configured RPO {target}",
    # the cluster (written by the leading node)
    "cluster_nodes": "live nodes sharing the store",
    "cluster_node_up": "1 for a live node, 0 for one lost within the hour {node}",
    "cluster_node_checks": "checks the node ran most recently {node}",
    "cluster_leader": "1 for the node that holds the leader lease {node}",
    # notification outbox health
    "notify_channel_failing": "1 while a destination of the channel keeps failing {channel}",
    "notify_destination_consecutive_failures": "failures in a row {channel, destination}",
    "notify_outbox_messages": "outbox messages by state {state}",
    "notify_outbox_oldest_pending_seconds": "age of the oldest pending message",
    # log scan (opsbook logs)
    "log_requests_total": "requests counted by the log scan {log}",
    "log_errors_total": "errors counted by the log scan {log}",
    "http_5xx_ratio": "5xx share of the last log scan's requests {source}",
    "http_4xx_ratio": "4xx share of the last log scan's requests {source}",
    "http_response_time_seconds": "response time quantiles of the last log scan {source, quantile}",
    "log_requests_by_class_total": "requests of the last log scan by class {source, class}",
    "log_denied_requests_total": "requests answered 401, 403 or 429 {source}",
    "log_failed_logins_total": "failed logins in the last log scan {source}",
    "log_brute_force_ips": "IPs above the brute-force threshold {source}",
    "log_attack_requests_total": "requests matching attack signatures {source, signature}",
    "log_warnings_total": "application lines at WARN level {source}",
    "log_malformed_lines_total": "lines the log scan could not read {source}",
}

_HTTP_CHECK = "on(check) http_response_status_code"  # `and` this: series of HTTP checks only
_PG_CHECK = "on(check) pg_connections_max"  # series of PostgreSQL checks only
_ERROR_RATE = (
    "http_5xx_ratio"
    ' or sum by (check) (rate(log_http_responses_total{code="5xx"}[5m]))'
    " / sum by (check) (rate(log_http_responses_total[5m]))"
    ' or sum by (check) (rate(http_requests_total{status=~"5.."}[5m]))'
    " / sum by (check) (rate(http_requests_total[5m]))"
    f" or (1 - avg_over_time(check_up[5m])) and {_HTTP_CHECK}"
)
_LATENCY = (
    'max without (quantile) (http_response_time_seconds{{quantile="{phi}"}})'
    " or histogram_quantile({phi},"
    " sum by (check, le) (rate(http_request_duration_seconds_bucket[5m])))"
    " or quantile_over_time({phi}, check_duration_seconds[5m]) and " + _HTTP_CHECK
)

BUILTIN: tuple[NamedMetric, ...] = (
    NamedMetric(
        "error_rate",
        _ERROR_RATE,
        FRACTION,
        "Share of requests that failed: the last log scan's 5xx share, else 5xx over 5 minutes "
        "in access-log checks, else in scraped `http_requests_total`, else failed probes of "
        "HTTP checks.",
        aliases=("Error Rate", "Error rate", "Errors"),
    ),
    NamedMetric(
        "p50_latency",
        _LATENCY.format(phi=0.5),
        MILLISECONDS,
        "Median request latency in ms: the last log scan's quantile, else a scraped "
        "request-duration histogram over 5 minutes, else the response time of HTTP checks.",
        scale=1000.0,
        aliases=("P50 Latency", "Request latency (p50)", "Response time (p50)", "Median latency"),
    ),
    NamedMetric(
        "p95_latency",
        _LATENCY.format(phi=0.95),
        MILLISECONDS,
        "95th percentile request latency over 5 minutes in ms (sources as p50_latency).",
        scale=1000.0,
        aliases=("P95 Latency", "Request latency (p95)", "Response time (p95)"),
    ),
    NamedMetric(
        "p99_latency",
        _LATENCY.format(phi=0.99),
        MILLISECONDS,
        "99th percentile request latency over 5 minutes in ms (sources as p50_latency).",
        scale=1000.0,
        aliases=("P99 Latency", "Request latency (p99)", "Response time (p99)"),
    ),
    NamedMetric(
        "p99_query_time",
        f"quantile_over_time(0.99, check_duration_seconds[5m]) and {_PG_CHECK}",
        MILLISECONDS,
        "99th percentile run time of the PostgreSQL checks' queries over 5 minutes, in ms.",
        scale=1000.0,
        aliases=("Query time (p99)", "P99 Query Time", "Query latency (p99)"),
    ),
    NamedMetric(
        "slow_queries",
        'sum by (check) (rate(log_matches_total{pattern=~"slow.*"}[5m]))',
        PER_MINUTE,
        "Log lines per minute matching a log check's pattern whose name starts with `slow` "
        "(e.g. PostgreSQL's log_min_duration_statement lines).",
        scale=60.0,
        aliases=("Slow queries", "Slow Queries"),
    ),
    NamedMetric(
        "connection_pool",
        "pg_connections_used_ratio",
        FRACTION,
        "PostgreSQL client connections as a share of max_connections.",
        aliases=("Connection Pool", "Connection pool", "Connection pool usage"),
    ),
    NamedMetric(
        "connection_count",
        "sum by (check) (pg_connections)",
        None,
        "Open PostgreSQL client connections, all states.",
        aliases=("Connection Count", "Database connections", "Connections"),
    ),
    NamedMetric(
        "replication_lag",
        "pg_replication_lag_seconds",
        SECONDS,
        "Replay lag of a PostgreSQL replica, in seconds.",
        aliases=("Replication lag", "Replication Lag"),
    ),
    NamedMetric(
        "cache_hit_rate",
        "rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m])"
        " + rate(redis_keyspace_misses_total[5m])) or redis_keyspace_hit_ratio",
        FRACTION,
        "Redis key lookups that hit over 5 minutes (since start when there is no traffic).",
        aliases=("Cache Hit Rate", "Cache hit rate", "Cache hit ratio"),
    ),
    NamedMetric(
        "disk_usage",
        "disk_used_ratio",
        FRACTION,
        "Used share of each mounted file system.",
        aliases=("Disk Usage", "Disk usage", "Disk"),
    ),
    NamedMetric(
        "disk_free",
        "disk_free_bytes / disk_total_bytes",
        FRACTION,
        "Free share of each mounted file system.",
        aliases=("Disk Free", "Disk free", "Free disk space", "Disk space"),
    ),
    NamedMetric(
        "memory_usage",
        "memory_used_ratio",
        FRACTION,
        "Used share of the host's memory.",
        aliases=("Memory Usage", "Memory usage", "Memory"),
    ),
    NamedMetric(
        "cpu_usage",
        "cpu_usage_ratio",
        FRACTION,
        "Busy share of the host's CPU time.",
        aliases=("CPU Usage", "CPU usage", "CPU"),
    ),
    NamedMetric(
        "throughput",
        "sum by (check) (rate(log_http_responses_total[5m]))"
        " or sum by (check) (rate(http_requests_total[5m]))",
        PER_SECOND,
        "Requests per second over 5 minutes: access logs, else scraped `http_requests_total`.",
        aliases=("Throughput", "Request rate", "Requests per second"),
    ),
    NamedMetric(
        "success_rate",
        "1 - error_rate",
        FRACTION,
        "Share of requests that succeeded (1 - error_rate).",
        aliases=("Success Rate", "Success rate", "Request success rate"),
    ),
    NamedMetric(
        "failed_logins",
        "sum by (source) (sum_over_time(log_failed_logins_total[1h]))",
        PER_HOUR,
        "Failed logins the log scans counted in the last hour.",
        aliases=("Failed logins", "Failed authentication attempts", "Failed login attempts"),
    ),
    NamedMetric(
        "certificate_expiry",
        "tls_cert_expiry_seconds",
        SECONDS,
        "Time left until each checked TLS certificate expires.",
        aliases=("SSL certificate expiry", "TLS certificate expiry", "Certificate expiry"),
    ),
    NamedMetric(
        "availability",
        "avg_over_time(check_up[5m])",
        FRACTION,
        "Share of each check's runs that passed over 5 minutes.",
        aliases=("Availability", "Uptime"),
    ),
)


def loose(name: str) -> str:
    """A key that ignores case, spaces and punctuation: "P95 Latency" -> "p95latency"."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class MetricCatalog:
    """The names a condition may use: built-in and configured named metrics, recorded families."""

    named_metrics: dict[str, NamedMetric] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)

    def named(self, name: str) -> NamedMetric | None:
        return self.named_metrics.get(name)

    def known(self, name: str) -> bool:
        return name in self.families

    def names(self) -> list[str]:
        return [*self.named_metrics, *self.families]

    def by_alias(self, written: str) -> NamedMetric | None:
        """The named metric a runbook means by `written`: "P95 Latency", "Error rate",
        "API Response Time (95th percentile)", "Error Rate (of requests)"."""
        found = self._alias(written)
        if found is not None:
            return found
        base = re.sub(r"\(.*?\)", " ", written)
        percentile = re.search(r"\bp(\d{2})\b|\b(\d{2})(?:th)?\s*percentile", written, re.I)
        latency = re.search(r"latency|response time|request time|duration", base, re.I)
        if percentile and latency:
            return self.named_metrics.get(f"p{percentile[1] or percentile[2]}_latency")
        base = re.sub(r"^\s*(api|http|app|application)\s+", "", base, flags=re.I)
        return self._alias(base)

    def _alias(self, written: str) -> NamedMetric | None:
        key = loose(written)
        for metric in self.named_metrics.values():
            if key == loose(metric.name) or key in (loose(a) for a in metric.aliases):
                return metric
        return None


def default_catalog(
    extra: Iterable[NamedMetric] = (), families: Mapping[str, str] | None = None
) -> MetricCatalog:
    """The built-in catalog, plus named metrics and families a config adds."""
    named = {m.name: m for m in BUILTIN}
    named.update({m.name: m for m in extra})
    return MetricCatalog(named, {**FAMILIES, **(families or {})})
