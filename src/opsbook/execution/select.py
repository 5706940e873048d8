"""Finding the procedure (or part) and the steps an operator means."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from opsbook.errors import NotFoundError, UsageError
from opsbook.runbook.model import Part, Procedure, Runbook, Step
from opsbook.runbook.slug import loose_key


@dataclass(frozen=True)
class Selection:
    procedure: Procedure
    part: Part | None

    @property
    def name(self) -> str:
        return f"{self.procedure.title}/{self.part.title}" if self.part else self.procedure.title

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.part.steps if self.part else self.procedure.steps


class AmbiguousName(UsageError):
    """A name that matches more than one procedure or part."""


def runnable(runbook: Runbook) -> list[Procedure]:
    return [p for p in runbook.procedures if p.steps]


def find(runbook: Runbook, name: str) -> Selection:
    """The procedure or `Procedure/Part` `name` means: title or slug, any case, no numbering."""
    matches = _procedures(runbook, name)
    if len(matches) == 1:
        return Selection(matches[0], None)
    if len(matches) > 1:
        raise AmbiguousName(_ambiguous(name, [_label(p) for p in matches]))
    for cut in _slash_positions(name):
        procs = _procedures(runbook, name[:cut])
        parts = [(p, part) for p in procs if (part := p.part(name[cut + 1 :])) is not None]
        if len(parts) == 1:
            return Selection(*parts[0])
        if len(parts) > 1:
            raise AmbiguousName(_ambiguous(name, [f"{_label(p)}/{q.title}" for p, q in parts]))
    raise NotFoundError(_unknown(runbook, name))


def pick_steps(selection: Selection, spec: str | None) -> tuple[Step, ...]:
    """The steps `spec` names (`2-5`, `1,3,7-9`); all of them without a spec."""
    steps = selection.steps
    if not spec:
        return steps
    by_number = {s.number: s for s in steps}
    wanted: list[int] = []
    for piece in spec.split(","):
        first, _, last = piece.strip().partition("-")
        try:
            low = int(first)
            high = int(last) if last else low
        except ValueError:
            raise UsageError(
                f"--steps {spec!r}: write numbers and ranges, like 2-5 or 1,3"
            ) from None
        wanted += range(low, high + 1)
    missing = sorted({n for n in wanted if n not in by_number})
    if missing:
        raise UsageError(
            f"--steps {spec!r}: {selection.name} has steps 1-{len(steps)}, not "
            + ", ".join(map(str, missing))
        )
    return tuple(by_number[n] for n in sorted(set(wanted)))


def _procedures(runbook: Runbook, name: str) -> list[Procedure]:
    key = loose_key(name)
    if not key:
        return []
    return [p for p in runbook.procedures if key in {loose_key(p.title), p.slug, loose_key(p.slug)}]


def _slash_positions(name: str) -> list[int]:
    return [i for i, ch in enumerate(name) if ch == "/"][::-1]


def _label(procedure: Procedure) -> str:
    return f"{procedure.title} (#{procedure.slug}, line {procedure.line})"


def _ambiguous(name: str, labels: list[str]) -> str:
    return f"{name!r} matches more than one; name one of:\n  " + "\n  ".join(labels)


def _unknown(runbook: Runbook, name: str) -> str:
    names = [p.title for p in runnable(runbook)]
    names += [
        f"{p.title}/{part.title}" for p in runnable(runbook) for part in p.parts if part.steps
    ]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
    words = set(loose_key(name).split("-")) - {""}
    close += [n for n in names if words & set(loose_key(n).split("-")) and n not in close]
    candidates = close[:10] or names[:20]
    listing = "\n  ".join(candidates) if candidates else "(it has no runnable procedures)"
    return f"no procedure {name!r} in {runbook.source}; candidates:\n  {listing}"
