"""The severity policy and the paging targets, read from `incidents:` config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsbook.config import Config
from opsbook.config.incidents import IncidentsConfig, SeverityConfig
from opsbook.errors import UsageError
from opsbook.incidents.escalation import Rung
from opsbook.incidents.rota import on_call

BUILTIN_SEVERITY_MAP = {
    "critical": "P1",
    "page": "P1",
    "high": "P2",
    "error": "P2",
    "major": "P2",
    "warning": "P3",
    "medium": "P3",
    "minor": "P3",
    "info": "P4",
    "low": "P4",
}


@dataclass(frozen=True)
class PageTarget:
    """Whom a rung reaches: the resolved person (if any) and the channels to send to."""

    description: str
    person: str | None
    channels: tuple[str, ...]


class Policy:
    def __init__(
        self, config: IncidentsConfig, known_channels: frozenset[str] = frozenset()
    ) -> None:
        self.config = config
        self.known_channels = known_channels
        self._severities = {s.level.upper(): s for s in config.severities}

    @property
    def levels(self) -> list[str]:
        return [s.level for s in self.config.severities]

    def severity(self, level: str) -> SeverityConfig:
        found = self._severities.get(level.strip().upper())
        if found is None:
            raise UsageError(f"unknown severity {level!r} (one of: {', '.join(self.levels)})")
        return found

    def map_alert_severity(self, alert_severity: str) -> str | None:
        """The incident severity an alert of `alert_severity` maps to, or None."""
        key = alert_severity.strip()
        if key.upper() in self._severities:
            return self._severities[key.upper()].level
        mapped = {k.lower(): v for k, v in self.config.severity_map.items()}.get(key.lower())
        mapped = mapped or BUILTIN_SEVERITY_MAP.get(key.lower())
        return (
            self._severities[mapped.upper()].level
            if mapped and mapped.upper() in self._severities
            else None
        )

    def opens_incident(self, level: str) -> bool:
        return level.upper() in {p.upper() for p in self.config.open_from_alerts}

    def ladder(self) -> tuple[Rung, ...]:
        return tuple(Rung(e.level, e.target, e.after) for e in self.config.escalation)

    def resolve_target(self, target: str, at: datetime) -> PageTarget:
        """Rota -> its person on call; person -> their channels; channel -> itself; else the
        incident channels, with the target named in the message."""
        person = on_call(self.config.rotas[target], at) if target in self.config.rotas else None
        if person is None and target in self.config.people:
            person = target
        if person is not None:
            known = self.config.people.get(person)
            channels = tuple(known.channels) if known else ()
            label = f"{target} ({person})" if person != target else person
            return PageTarget(label, person, channels or tuple(self.config.channels))
        if target in self.known_channels:
            return PageTarget(target, None, (target,))
        return PageTarget(target, None, tuple(self.config.channels))


def load_policy(config: Config) -> Policy:
    """The policy of `config`, after checking that every channel it names is configured."""
    from opsbook.config.channels import check_channel_references

    incidents = config.settings.incidents
    references: list[tuple[tuple[str | int, ...], str]] = [
        (("incidents", "channels", i), name) for i, name in enumerate(incidents.channels)
    ]
    for handle, person in incidents.people.items():
        references += [
            (("incidents", "people", handle, "channels", i), n)
            for i, n in enumerate(person.channels)
        ]
    check_channel_references(config, references)
    return Policy(incidents, known_channels=frozenset(config.settings.channels))
