"""`cluster:` in opsbook.yaml: how nodes sharing one PostgreSQL watch each other."""

from __future__ import annotations

from pydantic import Field, model_validator

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration


class ClusterConfig(StrictModel):
    lease: Duration = Field(
        default=10.0,
        description="A node whose heartbeat is older than this is dead to the others; "
        "leadership moves after the same time.",
    )
    heartbeat: Duration = Field(
        default=2.0, description="How often each node renews its heartbeat."
    )
    state_key: str | None = Field(
        default=None,
        min_length=16,
        description="Key that seals each run's shell state and given values in the store, so "
        "any node can resume a run whose node died; the same on every node. Write it as "
        "${OPSBOOK_STATE_KEY}. Without it a run resumes only on the machine where it ran.",
    )

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> ClusterConfig:
        if self.heartbeat * 2 > self.lease:
            raise ValueError(
                f"heartbeat ({self.heartbeat:g}s) must be at most half the lease ({self.lease:g}s)"
            )
        return self
