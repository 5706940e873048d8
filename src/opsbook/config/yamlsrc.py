"""YAML documents that remember where each value came from, with `${VAR}` references resolved.

`read_yaml` returns plain Python data plus a `Locations` map from each value's path
(`("checks", 2, "interval")`) to its line, so validation errors can say `file:line: message`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from opsbook.errors import ConfigError, SourceRef

Path = tuple[str | int, ...]

# ${NAME}, ${NAME:-default}; $${...} is a literal "${...}".
_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class Locations:
    """Where each value of a document was written."""

    file: str
    places: dict[Path, SourceRef] = field(default_factory=dict)
    overrides: dict[Path, str] = field(default_factory=dict)

    def ref(self, path: Path) -> SourceRef:
        """The source of `path`, or of its nearest written parent."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.overrides:
                return SourceRef(f"environment {self.overrides[prefix]}")
            if prefix in self.places:
                return self.places[prefix]
        return SourceRef(self.file)

    def graft(self, other: Locations, source: Path, target: Path) -> None:
        """Record `other`'s places under `source` as places under `target` here."""
        for path, ref in other.places.items():
            if path[: len(source)] == source:
                self.places[target + path[len(source) :]] = ref


@dataclass
class YamlDocument:
    data: Any
    locations: Locations
    env_values: dict[str, str] = field(default_factory=dict)  # every ${VAR} resolved, by name


def read_yaml(text: str, file: str, env: Mapping[str, str]) -> YamlDocument:
    """Parse `text` (named `file` in messages), resolving `${VAR}` from `env`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"invalid YAML: {exc.problem}", source=SourceRef(file, line)) from exc
    finally:
        loader.dispose()
    doc = YamlDocument(data=None, locations=Locations(file))
    if node is None:
        doc.data = {}
        return doc
    resolve = _Resolver(env, file, doc.env_values)
    doc.data = _build(loader, node, (), doc.locations, resolve)
    return doc


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path,
    where: Locations,
    resolve: Callable[[str, int], str],
) -> Any:
    where.places[path] = SourceRef(where.file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise ConfigError(
                    "a mapping key must be a plain value",
                    source=SourceRef(where.file, key_node.start_mark.line + 1),
                )
            if key in result:
                raise ConfigError(
                    f"duplicate key {key!r}",
                    source=SourceRef(where.file, key_node.start_mark.line + 1),
                )
            key = str(key) if not isinstance(key, str | int) else key
            result[key] = _build(loader, value_node, (*path, key), where, resolve)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), where, resolve)
            for index, item in enumerate(node.value)
        ]
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "$" in value:
        return resolve(value, node.start_mark.line + 1)
    return value


class _Resolver:
    def __init__(self, env: Mapping[str, str], file: str, seen: dict[str, str]) -> None:
        self.env, self.file, self.seen = env, file, seen

    def __call__(self, text: str, line: int) -> str:
        def replace(match: re.Match[str]) -> str:
            if match[0] == "$${":
                return "${"
            name, default = match[1], match[2]
            if name in self.env:
                self.seen[name] = self.env[name]
                return self.env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"environment variable {name} is not set (referenced as ${{{name}}}; "
                f"set it, or write ${{{name}:-default}})",
                source=SourceRef(self.file, line),
            )

        return _REFERENCE.sub(replace, text)
