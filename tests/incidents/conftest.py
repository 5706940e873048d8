from __future__ import annotations

from typing import Any

import pytest

from opsbook.clock import FakeClock
from opsbook.config.incidents import IncidentsConfig
from opsbook.incidents.policy import Policy
from opsbook.incidents.service import IncidentContext

LADDER = [
    {"level": 1, "target": "On-call engineer", "after": "0s"},
    {"level": 2, "target": "Engineering lead", "after": "30m"},
    {"level": 3, "target": "Tech lead", "after": "1h"},
    {"level": 4, "target": "Executive", "after": "2h"},
]


def make_policy(**settings: Any) -> Policy:
    settings.setdefault("escalation", LADDER)
    return Policy(IncidentsConfig.model_validate(settings))


@pytest.fixture
def ctx(clock: FakeClock) -> IncidentContext:
    return IncidentContext(clock=clock, policy=make_policy())
