"""The runbooks the config names, parsed once per change of the file.

Each runbook gets an id for URLs: its file name without `.md` (or its path relative to the config
folder, slugged, when two files share a name).
"""

from __future__ import annotations

import glob
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from opsbook.config import Config
from opsbook.errors import NotFoundError, UsageError
from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import parse_file


@dataclass(frozen=True, slots=True)
class RunbookFile:
    id: str
    path: Path


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "runbook"


class RunbookCatalog:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._parsed: dict[Path, tuple[tuple[int, int], Runbook]] = {}

    def files(self) -> list[RunbookFile]:
        """Every runbook file the config names, in the order written, each once."""
        paths: list[Path] = []
        for pattern in self.config.settings.runbooks:
            resolved = str(self.config.resolve_path(pattern))
            matches = sorted(Path(p) for p in glob.glob(resolved, recursive=True))
            paths += [p for p in matches if p.is_file() and p not in paths]
        stems = [_slug(p.stem) for p in paths]
        result = []
        for path, stem in zip(paths, stems, strict=True):
            unique = stem
            if stems.count(stem) > 1:
                unique = _slug(str(path.relative_to(self.config.base_dir)).removesuffix(".md"))
            result.append(RunbookFile(unique, path))
        return result

    def find(self, runbook_id: str) -> RunbookFile:
        for item in self.files():
            if item.id == runbook_id:
                return item
        raise NotFoundError(f"no runbook with id {runbook_id!r}")

    def find_link(self, link: str) -> tuple[RunbookFile, str]:
        """The runbook and procedure a link such as `runbooks/db.md#high-error-rate` names.

        The path is read relative to the config's folder (a bare file name or id also does); the
        anchor names the procedure. Links elsewhere (a wiki URL) name nothing runnable here.
        """
        path, _, anchor = link.strip().partition("#")
        if not path or not anchor or "://" in path:
            raise UsageError(f"the runbook link {link!r} names no procedure of a runbook here")
        wanted = self.config.resolve_path(path).resolve()
        files = self.files()
        for item in files:
            if item.path.resolve() == wanted:
                return item, anchor
        stem = _slug(Path(path).stem)
        for item in files:
            if item.id == stem or _slug(item.path.stem) == stem:
                return item, anchor
        raise NotFoundError(f"the runbook link {link!r} names no configured runbook")

    def parse(self, item: RunbookFile) -> Runbook:
        """The parsed runbook, from the cache while the file is unchanged."""
        stat = item.path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._parsed.get(item.path)
            if cached is not None and cached[0] == key:
                return cached[1]
        book = parse_file(item.path)
        with self._lock:
            self._parsed[item.path] = (key, book)
        return book
