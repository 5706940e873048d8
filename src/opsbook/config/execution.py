"""The `execution:` section of opsbook.yaml: how procedures are run."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration, Size


class ExecutionConfig(StrictModel):
    """Defaults for `opsbook run` and every run started by the server or the scheduler."""

    default_timeout: Duration = Field(
        default=600.0,
        description="Longest a step may run when neither --timeout nor the block's timeout= says.",
    )
    watch_timeout: Duration = Field(
        default=120.0,
        description="Default timeout of a step that never ends by itself (watch, tail -f, loops).",
    )
    output_limit: Size = Field(
        default=512 * 1024,
        description="Output kept per step; beyond it the first and last halves are kept.",
    )
    heartbeat_interval: Duration = Field(
        default=5.0,
        description="How often a running run proves it is alive; silent for 6 beats = interrupted.",
    )
    shell: str = Field(default="bash", description="The bash that runs shell steps.")
