"""The metrics store: samples written in batches, rolled up by the minute, read by a query API.

Write side: `opsbook.metrics.store` (`Sample`, `MetricWriter`, `write_samples`).
Read side: `opsbook.metrics.query` (`latest`, `series`, `aggregate`).
Upkeep: `opsbook.metrics.rollup` (one-minute rollups, retention) and its worker.
The public signatures are documented in docs/metrics.md.
"""
