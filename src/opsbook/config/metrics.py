"""`metrics:` in opsbook.yaml: how long the store keeps samples and how often it writes them."""

from __future__ import annotations

from pydantic import Field, model_validator

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration

DAY = 86400.0


class MetricsConfig(StrictModel):
    """The metrics store's retention and write batching."""

    raw_retention: Duration = Field(
        default=7 * DAY,
        description="How long raw samples are kept before only their one-minute rollups remain.",
    )
    rollup_retention: Duration = Field(
        default=400 * DAY,
        description="How long one-minute rollups (min, max, avg, count, p95) are kept.",
    )
    flush_interval: Duration = Field(
        default=1.0,
        description="How often batched samples and check results are written to the store.",
    )
    max_pending: int = Field(
        default=500_000,
        ge=1000,
        description="Samples held in memory while the store is unreachable; the oldest go first.",
    )

    @model_validator(mode="after")
    def _rollups_outlive_raw(self) -> MetricsConfig:
        if self.rollup_retention < self.raw_retention:
            raise ValueError("rollup_retention must be at least raw_retention")
        if not 0.05 <= self.flush_interval <= 60:
            raise ValueError("flush_interval must be between 50ms and 60s")
        return self
