"""The docs and the code stay in step: every setting is documented."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from opsbook.config.model import OpsbookConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _documented_names() -> set[str]:
    names: set[str] = set()
    for page in DOCS.glob("**/*.md"):
        for token in re.findall(r"`([^`\s]+)`", page.read_text()):
            names.add(re.sub(r"\[[^\]]*\]|\.<[^>]*>|<[^>]*>", "", token).strip("."))
    return names


def _models_in(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            yield from _models_in(arg)


def _settings(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        for sub in _models_in(field.annotation):
            yield from _settings(sub, path)


def test_every_setting_is_documented() -> None:
    documented = _documented_names()
    missing = sorted(set(_settings(OpsbookConfig)) - documented)
    assert missing == [], f"document these settings in docs/: {missing}"


def test_every_setting_has_a_description() -> None:
    def walk(model: type[BaseModel]) -> Iterator[str]:
        for name, field in model.model_fields.items():
            if not field.description:
                yield f"{model.__name__}.{name}"
            for sub in _models_in(field.annotation):
                yield from walk(sub)

    assert list(walk(OpsbookConfig)) == []


def test_the_cli_reference_is_up_to_date() -> None:
    from opsbook.cli.reference import render

    written = (DOCS / "cli.md").read_text() if (DOCS / "cli.md").exists() else ""
    assert written == render(), "docs/cli.md is stale: run `make docs`"
