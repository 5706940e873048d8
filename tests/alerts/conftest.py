from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsbook.alerts.named import default_catalog
from opsbook.alerts.rules import Rule, build_rule
from opsbook.clock import Clock
from opsbook.config.alerts import AlertingConfig, AlertRuleConfig
from opsbook.errors import SourceRef


@dataclass
class Outbox:
    """Records what alerts hand to the outbox (a real Enqueue implementation, in memory)."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, session: Session, clock: Clock, **message: Any) -> list[Any]:
        self.sent.append({"at": clock.now(), **message})
        return []

    def events(self) -> list[tuple[str, str]]:
        return [(m["event"], m["title"]) for m in self.sent]


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


def make_rule(**settings: Any) -> Rule:
    config = AlertRuleConfig.model_validate({"name": "high_error_rate", **settings})
    defaults = AlertingConfig(group_interval=60, repeat_interval=3600)
    return build_rule(config, defaults, default_catalog(), SourceRef("test.yaml", 1))
