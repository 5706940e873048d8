"""The configured checks, validated against the rest of the config (connections, files)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from opsbook.config import Config
from opsbook.config.checks import CheckConfig, CommandCheck, PostgresCheck
from opsbook.connections import resolve_connection
from opsbook.errors import ConfigError, NotFoundError, SourceRef


def configured_checks(config: Config, only: Sequence[str] = ()) -> list[CheckConfig]:
    """The enabled checks (or exactly those named in `only`); ConfigError for dangling names."""
    checks = list(config.settings.checks)
    problems = [p for i, c in enumerate(checks) for p in _problems(config, i, c)]
    if problems:
        raise ConfigError(problems[0][1], source=problems[0][0], problems=problems)
    if not only:
        return [c for c in checks if c.enabled]
    by_name = {c.name: c for c in checks}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none configured"
        raise NotFoundError(f"no check named {', '.join(unknown)} (known: {known})")
    return [by_name[name] for name in dict.fromkeys(only)]


def _problems(config: Config, index: int, check: CheckConfig) -> list[tuple[SourceRef | None, str]]:
    found: list[tuple[SourceRef | None, str]] = []
    if isinstance(check, PostgresCheck):
        try:
            resolve_connection(config, check.connection, dict(os.environ))
        except NotFoundError as exc:
            field = "connection" if check.connection else "type"
            found.append((config.ref("checks", index, field), f"checks[{index}]: {exc.message}"))
    if isinstance(check, CommandCheck):
        text = check.command if isinstance(check.command, str) else " ".join(check.command)
        if any(secret in text for secret in config.redactor.values):
            found.append(
                (
                    config.ref("checks", index, "command"),
                    f"checks[{index}].command: a secret is written into the command, where `ps` "
                    "shows it; pass it in `env:` and refer to it as $NAME",
                )
            )
    ca_file = getattr(check, "ca_file", None)
    if ca_file and not config.resolve_path(ca_file).is_file():
        found.append(
            (config.ref("checks", index, "ca_file"), f"checks[{index}].ca_file: no such file")
        )
    return found
