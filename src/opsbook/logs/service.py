"""The log operations as the CLI and the actions call them: arguments in, text and data out."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from opsbook.clock import Clock
from opsbook.errors import UsageError
from opsbook.logs.readers import FORMATS
from opsbook.logs.report import build_report, render_text
from opsbook.logs.rotation import Plan, carry_out, plan_cleanup, plan_rotation
from opsbook.logs.scan import Progress, scan
from opsbook.logs.signatures import BRUTE_FORCE_THRESHOLD
from opsbook.texttable import text_table
from opsbook.units import parse_duration


@dataclass
class ScanRequest:
    files: list[Path]
    format: str = "auto"
    since: str | None = None  # a duration such as 24h
    threshold: int = BRUTE_FORCE_THRESHOLD


def run_scan(
    request: ScanRequest, clock: Clock, progress: Progress | None = None
) -> tuple[str, dict[str, Any]]:
    """Scan the files; returns the report as text and as the `--json` document."""
    if not request.files:
        raise UsageError("give at least one log file to scan")
    if request.format not in FORMATS:
        raise UsageError(f"unknown log format {request.format!r} (use {', '.join(FORMATS)})")
    since = None
    if request.since:
        try:
            since = parse_duration(request.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    result = scan(
        request.files, fmt=request.format, since=since, now=clock.now(), progress=progress
    )
    report = build_report(result, threshold=request.threshold)
    return render_text(report), report


def parse_scan_args(args: Sequence[str]) -> ScanRequest:
    """`FILE... [--format F] [--since 24h] [--threshold N]`, as an action line gives them."""
    parser = _ArgumentParser(prog="logs scan", add_help=False)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--format", default="auto", choices=FORMATS)
    parser.add_argument("--since")
    parser.add_argument("--threshold", type=int, default=BRUTE_FORCE_THRESHOLD)
    parser.add_argument("--json", action="store_true")  # accepted; actions always return data
    ns = parser.parse_args(list(args))
    return ScanRequest(ns.files, ns.format, ns.since, ns.threshold)


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


@dataclass
class HousekeepingRequest:
    """`logs rotate` and `logs cleanup`: folders, file patterns, ages, and whether to act."""

    folders: list[Path]
    patterns: list[str] = field(default_factory=list)
    compress_after: str = "7d"
    delete_after: str = "30d"
    older_than: str = "7d"
    yes: bool = False


def run_rotate(request: HousekeepingRequest, clock: Clock) -> tuple[str, dict[str, Any]]:
    """Compress old logs and delete old archives; only lists them unless `yes`."""
    plan = plan_rotation(
        request.folders,
        clock.now(),
        patterns=request.patterns or ["*.log"],
        compress_after_days=_days(request.compress_after, "--compress-after"),
        delete_after_days=_days(request.delete_after, "--delete-after"),
    )
    return _finish(plan, request)


def run_cleanup(request: HousekeepingRequest, clock: Clock) -> tuple[str, dict[str, Any]]:
    """Delete matching files older than `older_than`; only lists them unless `yes`."""
    plan = plan_cleanup(
        request.folders,
        clock.now(),
        patterns=request.patterns,
        older_than_days=_days(request.older_than, "--older-than"),
    )
    return _finish(plan, request)


def _finish(plan: Plan, request: HousekeepingRequest) -> tuple[str, dict[str, Any]]:
    if request.yes:
        carry_out(plan)
    data = plan.as_data(request.folders)
    rows = [
        [
            a.action,
            a.path,
            human_size(a.bytes),
            f"{a.age_days:.1f}",
            human_size(a.frees_bytes),
            a.error or ("done" if a.done else ""),
        ]
        for a in plan.actions
    ]
    table = text_table(["action", "file", "size", "age (days)", "frees", "result"], rows)
    if plan.dry_run:
        summary = f"Would free about {human_size(plan.frees_bytes)}; run with --yes to do it."
    else:
        summary = f"Freed {human_size(plan.frees_bytes)}."
        if data["errors"]:
            summary += f" {data['errors']} file(s) failed."
    return f"{table}\n{summary}", data


def _days(text: str, option: str) -> float:
    try:
        return parse_duration(text) / 86400.0
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def human_size(value: float) -> str:
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def parse_rotate_args(args: Sequence[str]) -> HousekeepingRequest:
    """`FOLDER... [--pattern P]... [--compress-after 7d] [--delete-after 30d] [--yes]`."""
    parser = _housekeeping_parser("logs rotate")
    parser.add_argument("--compress-after", default="7d")
    parser.add_argument("--delete-after", default="30d")
    ns = parser.parse_args(list(args))
    return HousekeepingRequest(
        ns.folders, ns.pattern or [], ns.compress_after, ns.delete_after, yes=_acts(ns)
    )


def parse_cleanup_args(args: Sequence[str]) -> HousekeepingRequest:
    """`FOLDER... --pattern P [--pattern P]... [--older-than 7d] [--yes]`."""
    parser = _housekeeping_parser("logs cleanup")
    parser.add_argument("--older-than", default="7d")
    ns = parser.parse_args(list(args))
    return HousekeepingRequest(
        ns.folders, ns.pattern or [], older_than=ns.older_than, yes=_acts(ns)
    )


def _acts(ns: argparse.Namespace) -> bool:
    """--yes acts; --dry-run (which wins over --yes) and neither only list."""
    return bool(ns.yes) and not ns.dry_run


def _housekeeping_parser(prog: str) -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog=prog, add_help=False)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--pattern", action="append")
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--json", action="store_true")
    return parser
