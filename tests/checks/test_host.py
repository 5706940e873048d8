from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from opsbook.checks.model import Status
from tests.checks.conftest import metric, run_one


def test_disk_usage_is_recorded_per_mount(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "disk", "mounts": ["/"], "warn_used": 1, "max_used": 1})
    usage = psutil.disk_usage("/")
    assert result.status is Status.HEALTHY
    assert metric(result, "disk_total_bytes", mount="/") == usage.total
    assert metric(result, "disk_used_ratio", mount="/") == about(usage.percent / 100)


def about(value: float) -> object:
    return pytest.approx(value, abs=0.01)


def test_a_disk_over_its_limit_fails_and_one_near_it_is_degraded(tmp_path: Path) -> None:
    full = run_one(tmp_path, {"type": "disk", "mounts": ["/"], "warn_used": 0, "max_used": 0})
    near = run_one(tmp_path, {"type": "disk", "mounts": ["/"], "warn_used": 0, "max_used": 1})
    assert full.status is Status.UNHEALTHY
    assert full.error is not None and full.error.startswith("/ is ")
    assert near.status is Status.DEGRADED


def test_a_missing_mount_fails_by_name(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "disk", "mounts": [str(tmp_path / "nope")]})
    assert result.error == f"{tmp_path / 'nope'}: no such mount point"


def test_every_local_disk_is_watched_by_default(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "disk", "warn_used": 1, "max_used": 1})
    mounts = {s.labels["mount"] for s in result.samples if s.name == "disk_used_ratio"}
    assert mounts


def test_memory_use_is_recorded(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "memory", "warn_used": 1, "max_used": 1})
    assert result.status is Status.HEALTHY
    assert metric(result, "memory_total_bytes") == psutil.virtual_memory().total
    assert 0 < metric(result, "memory_used_ratio") < 1


def test_memory_over_its_limit_fails(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "memory", "warn_used": 0, "max_used": 0})
    assert result.status is Status.UNHEALTHY


def test_load_and_cpu_use_are_recorded_and_the_cursor_kept(tmp_path: Path) -> None:
    first = run_one(tmp_path, {"type": "load", "warn_load_per_core": 1000})
    assert first.cursor is not None
    second = run_one(tmp_path, {"type": "cpu", "warn_load_per_core": 1000}, first.cursor)
    assert second.status is Status.HEALTHY
    cores = metric(second, "cpu_cores")
    assert cores == psutil.cpu_count()
    assert metric(second, "cpu_load1_per_core") == about(metric(second, "cpu_load1") / cores)
    assert 0 <= metric(second, "cpu_usage_ratio") <= 1
    assert second.cursor is not None and second.cursor["total"] > first.cursor["total"]


def test_load_per_core_over_the_limit_fails(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "cpu", "max_load_per_core": 0.000001})
    assert result.status is Status.UNHEALTHY
    assert result.error is not None and result.error.startswith("load ")
