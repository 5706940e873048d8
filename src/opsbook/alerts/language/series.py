"""Where a condition reads its data: series of (time, value) samples, selected by name and labels.

Times are seconds since the epoch (floats) so evaluation stays fast; labels are sorted tuples of
(name, value) pairs so they can key dictionaries.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opsbook.alerts.language.ast import Matcher

Labels = tuple[tuple[str, str], ...]
Points = Sequence[tuple[float, float]]


def labels_of(mapping: Mapping[str, str]) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in mapping.items() if k != "__name__"))


class SeriesSource(Protocol):
    def select(
        self, name: str, matchers: Sequence[Matcher], start: float, end: float
    ) -> Mapping[Labels, Points]:
        """Samples of every series of `name` that the matchers accept, with start < time <= end,
        oldest first. Series with no sample in the window are left out."""
        ...


@dataclass
class MemorySource:
    """Series held in memory: the offline `rules test` input, or a snapshot read from the store.

    Equality matchers are answered from an index built on first use, so a thousand rules that
    each pick one series out of thousands stay cheap.
    """

    series: dict[str, dict[Labels, list[tuple[float, float]]]] = field(default_factory=dict)
    _index: dict[str, dict[tuple[str, str], list[Labels]]] = field(default_factory=dict)

    def add(self, name: str, labels: Mapping[str, str], at: float, value: float) -> None:
        self._index.pop(name, None)
        points = self.series.setdefault(name, {}).setdefault(labels_of(labels), [])
        if points and points[-1][0] > at:
            bisect.insort(points, (at, value))
        else:
            points.append((at, value))

    def extend(self, name: str, labels: Labels, points: Iterable[tuple[float, float]]) -> None:
        self._index.pop(name, None)
        target = self.series.setdefault(name, {}).setdefault(labels, [])
        target.extend(points)
        target.sort()

    def select(
        self, name: str, matchers: Sequence[Matcher], start: float, end: float
    ) -> dict[Labels, Points]:
        found: dict[Labels, Points] = {}
        of_name = self.series.get(name, {})
        for labels in self._candidates(name, matchers):
            points = of_name[labels]
            if matchers:
                as_dict = dict(labels)
                if not all(m.matches(as_dict) for m in matchers):
                    continue
            low = bisect.bisect_right(points, (start, float("inf")))
            high = bisect.bisect_right(points, (end, float("inf")))
            if high > low:
                found[labels] = points[low:high]
        return found

    def _candidates(self, name: str, matchers: Sequence[Matcher]) -> Iterable[Labels]:
        equal = next((m for m in matchers if m.op == "=" and m.value), None)
        if equal is None:
            return self.series.get(name, {}).keys()
        index = self._index.get(name)
        if index is None:
            index = {}
            for labels in self.series.get(name, {}):
                for pair in labels:
                    index.setdefault(pair, []).append(labels)
            self._index[name] = index
        return index.get((equal.name, equal.value), [])
