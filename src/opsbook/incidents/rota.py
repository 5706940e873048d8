"""Who is on call: simple rotas with a fixed shift length and overrides. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from opsbook.config.incidents import RotaConfig


def _aware(when: datetime, zone: str) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(zone))


def on_call(rota: RotaConfig, at: datetime) -> str:
    """The person on call in `rota` at `at` (an override wins over the regular shift)."""
    for override in rota.overrides:
        if _aware(override.start, rota.timezone) <= at < _aware(override.end, rota.timezone):
            return override.person
    start = _aware(rota.start, rota.timezone)
    shifts = int((at - start).total_seconds() // rota.every)
    return rota.people[shifts % len(rota.people)]
