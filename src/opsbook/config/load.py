"""Loading opsbook.yaml: YAML with line numbers, `${VAR}` references, `OPSBOOK_*` overrides.

Every problem is reported as `file:line: path: message`, all of them at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from opsbook.config.model import OpsbookConfig
from opsbook.config.yamlsrc import Locations, YamlDocument, read_yaml
from opsbook.errors import ConfigError, SourceRef
from opsbook.secrets import Redactor

CONFIG_ENV = "OPSBOOK_CONFIG"
DEFAULT_FILE = "opsbook.yaml"
_OVERRIDE_PREFIX = "OPSBOOK_"

M = TypeVar("M", bound=BaseModel)


@dataclass
class Config:
    """A validated configuration and where it came from."""

    settings: OpsbookConfig
    path: Path | None
    locations: Locations
    redactor: Redactor = field(default_factory=Redactor)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve_path(self, value: str | Path) -> Path:
        """`value` relative to the config file's folder, with `~` expanded."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def data_dir(self) -> Path:
        return self.resolve_path(self.settings.data_dir)

    @property
    def database_url(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        return f"sqlite:///{self.data_dir / 'opsbook.db'}"

    def ref(self, *path: str | int) -> SourceRef:
        """Where the value at `path` was written (for error messages)."""
        return self.locations.ref(path)

    def error(self, path: tuple[str | int, ...], message: str) -> ConfigError:
        return ConfigError(f"{format_path(path)}: {message}", source=self.locations.ref(path))


def find_config(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The config file to use: the explicit one, $OPSBOOK_CONFIG, or ./opsbook.yaml if present."""
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the configuration; with no file, the defaults plus overrides."""
    env = dict(os.environ) if env is None else dict(env)
    file = find_config(path, env)
    if file is None:
        doc = YamlDocument(data={}, locations=Locations("(defaults)"))
    else:
        doc = _read_file(file, env)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            "the top level must be a mapping of settings", source=SourceRef(str(file), 1)
        )
    if file is not None:
        _merge_includes(doc, file, env, seen={file.resolve()})
    _apply_overrides(doc, env)
    settings = validate(OpsbookConfig, doc.data, doc.locations)
    redactor = Redactor()
    redactor.add_from_env(doc.env_values, declared=settings.secrets)
    resolved = file.resolve() if file else None
    return Config(settings=settings, path=resolved, locations=doc.locations, redactor=redactor)


def config_from_data(data: dict[str, Any], *, base_dir: Path | None = None) -> Config:
    """A Config built from already-parsed data (tests, bundled examples)."""
    locations = Locations("(inline)")
    settings = validate(OpsbookConfig, data, locations)
    path = (base_dir / DEFAULT_FILE) if base_dir else None
    return Config(settings=settings, path=path, locations=locations)


def validate(model: type[M], data: Any, locations: Locations) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, data, locations) from None


def format_path(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _read_file(file: Path, env: Mapping[str, str]) -> YamlDocument:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found", source=SourceRef(str(file))) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file: {exc.strerror}", source=SourceRef(str(file))
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8 text", source=SourceRef(str(file), line)) from None
    return read_yaml(text, str(file), env)


def _merge_includes(doc: YamlDocument, file: Path, env: Mapping[str, str], seen: set[Path]) -> None:
    """Merge the files named by `include:` into `doc`: lists concatenate, mappings combine."""
    patterns = doc.data.get("include", [])
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list):
        return  # validation reports the wrong type with its line
    for index, pattern in enumerate(patterns):
        matches = sorted(file.parent.glob(str(pattern))) if isinstance(pattern, str) else []
        if not matches and isinstance(pattern, str) and not any(c in pattern for c in "*?["):
            raise ConfigError(
                f"include[{index}]: no such file {pattern!r}",
                source=doc.locations.ref(("include", index)),
            )
        for included in matches:
            if included.resolve() in seen:
                continue
            seen.add(included.resolve())
            part = _read_file(included, env)
            if not isinstance(part.data, dict):
                raise ConfigError(
                    "an included file must be a mapping of settings",
                    source=SourceRef(str(included), 1),
                )
            _merge_includes(part, included, env, seen)
            part.data.pop("include", None)
            _merge(doc, part, (), doc.data, part.data)
            doc.env_values.update(part.env_values)


def _merge(
    doc: YamlDocument,
    part: YamlDocument,
    path: tuple[str | int, ...],
    into: dict[Any, Any],
    new: dict[Any, Any],
) -> None:
    for key, value in new.items():
        here = (*path, key)
        if key not in into:
            into[key] = value
            doc.locations.graft(part.locations, here, here)
        elif isinstance(into[key], list) and isinstance(value, list):
            offset = len(into[key])
            into[key].extend(value)
            for i in range(len(value)):
                doc.locations.graft(part.locations, (*here, i), (*here, offset + i))
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(doc, part, here, into[key], value)
        else:
            raise ConfigError(
                f"{format_path(here)}: also set at {doc.locations.ref(here)}; set it in one file",
                source=part.locations.ref(here),
            )


def _apply_overrides(doc: YamlDocument, env: Mapping[str, str]) -> None:
    """OPSBOOK_DATABASE_URL sets `database_url`; OPSBOOK_SERVER__PORT sets `server.port`."""
    known = set(OpsbookConfig.model_fields)
    for name, value in sorted(env.items()):
        if not name.startswith(_OVERRIDE_PREFIX):
            continue
        path = tuple(part.lower() for part in name[len(_OVERRIDE_PREFIX) :].split("__"))
        if path[0] not in known:
            continue
        target = doc.data
        for part in path[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(
                    f"{name} cannot set {'.'.join(path)}: its parent is not a mapping"
                )
        target[path[-1]] = yaml.safe_load(value) if value.strip() else value
        doc.locations.overrides[path] = name


def _config_error(exc: ValidationError, data: Any, locations: Locations) -> ConfigError:
    problems: list[tuple[SourceRef | None, str]] = []
    for error in exc.errors():
        path = _data_path(error["loc"], data)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling; see docs/configuration.md)"
        problems.append((locations.ref(path), f"{format_path(path)}: {message}"))
    first_ref, first_text = problems[0]
    return ConfigError(first_text, source=first_ref, problems=problems)


def _data_path(loc: tuple[int | str, ...], data: Any) -> tuple[str | int, ...]:
    """The part of a pydantic error location that names real keys in `data`.

    Union and model tags in `loc` are skipped; a missing key at the end is kept so the
    message can name it.
    """
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            path.append(part)
            node = node[part]
        elif last and isinstance(node, dict) and isinstance(part, str) and part.isidentifier():
            path.append(part)
    return tuple(path)
