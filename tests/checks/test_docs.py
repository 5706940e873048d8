"""Every metric a check writes is listed in docs/metrics.md."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "opsbook"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def _written_names() -> set[str]:
    names: set[str] = set()
    for path in [*(SRC / "checks").glob("**/*.py")]:
        text = path.read_text()
        names |= set(re.findall(r'obs\.add\(\s*"([a-z_:][a-z0-9_:]*)"', text))
        names |= set(re.findall(r'Sample\(\s*"([a-z_:][a-z0-9_:]*)"', text))
        names |= set(re.findall(r'"[a-z_]+": "((?:redis|pg)_[a-z0-9_]+)"', text))
    return names


def test_every_metric_a_check_writes_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_:][a-z0-9_:]*)`", DOCS.read_text()))
    written = _written_names()
    assert len(written) > 40
    assert sorted(written - documented) == []
