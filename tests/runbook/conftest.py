from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import parse_file

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))


def seed_path(prefix: str) -> Path:
    return next(p for p in SEED_FILES if p.name.startswith(prefix))


@pytest.fixture(scope="session")
def seeds() -> dict[str, Runbook]:
    """The five seed runbooks, parsed once, keyed by their number ("000" ... "004")."""
    return {path.name[:3]: parse_file(path) for path in SEED_FILES}
