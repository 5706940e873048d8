from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opsbook.clock import FakeClock
from opsbook.config import config_from_data
from opsbook.runtime import Runtime
from opsbook.scheduler.metrics import Sample
from opsbook.scheduler.worker import SchedulerWorker
from opsbook.storage import Database

MakeWorker = Callable[..., SchedulerWorker]


class ListSink:
    """Keeps what the worker publishes, newest batch last."""

    def __init__(self) -> None:
        self.batches: list[list[Sample]] = []

    def write(self, samples: Any) -> None:
        self.batches.append(list(samples))

    def value(self, name: str, job: str) -> float | None:
        for sample in self.batches[-1] if self.batches else []:
            if sample.name == name and sample.labels.get("job") == job:
                return sample.value
        return None


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def make_worker(db: Database, clock: FakeClock, tmp_path: Path, sink: ListSink) -> MakeWorker:
    """A scheduler worker over `db` for the given schedules, with the fake clock."""

    def make(*schedules: dict[str, Any], node_id: str = "node-a") -> SchedulerWorker:
        config = config_from_data({"schedules": list(schedules)}, base_dir=tmp_path)
        return SchedulerWorker(Runtime(config, db, clock, node_id), sink=sink)

    return make
