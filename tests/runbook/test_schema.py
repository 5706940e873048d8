"""docs/runbook-schema.md names every key `opsbook parse --json` emits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import opsbook
from opsbook.runbook.parse import parse_file
from opsbook.runbook.schema import runbook_json
from tests.runbook.conftest import SEED_FILES

DOC = Path(__file__).resolve().parents[2] / "docs" / "runbook-schema.md"
EXAMPLES = Path(opsbook.__file__).parent / "examples" / "runbooks"
_FREE_FORM = {"attrs", "labels", "annotations"}


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            if key not in _FREE_FORM:
                yield from _paths(item, path)
    elif isinstance(value, list):
        for item in value:
            yield from _paths(item, prefix + "[]")


def test_every_key_of_the_parse_json_is_documented() -> None:
    documented = set(re.findall(r"`([a-z0-9_\[\].]+)`", DOC.read_text()))
    emitted: set[str] = {"schema_version"}
    for path in [*SEED_FILES, *sorted(EXAMPLES.glob("*.md"))]:
        emitted.update(_paths(runbook_json(parse_file(path))))
    assert sorted(emitted - documented) == []


def test_every_danger_reason_is_documented() -> None:
    from opsbook.runbook.danger import DANGER_REASONS

    page = (DOC.parent / "runbooks.md").read_text()
    for reason in (*DANGER_REASONS, "DELETE without WHERE", "UPDATE without WHERE"):
        assert f"`{reason}`" in page, reason


def test_every_lint_code_is_documented() -> None:
    from opsbook.runbook.lint import LEVELS

    page = (DOC.parent / "runbooks.md").read_text()
    for code, level in LEVELS.items():
        assert re.search(rf"`{code}`[^|]*\| {level} \|", page), code
