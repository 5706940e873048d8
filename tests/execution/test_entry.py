from __future__ import annotations

import io
from pathlib import Path

import pytest

from opsbook.execution.entry import run_reference

RUNBOOK = """# Jobs

## Nightly

### Tidy Up

```bash
# 1. Count files
ls {folder} | wc -l

# 2. Remove old files
rm -rf {folder}/old
```
"""


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "old").mkdir(parents=True)
    (tmp_path / "jobs.md").write_text(RUNBOOK.format(folder=folder))
    (tmp_path / "opsbook.yaml").write_text("data_dir: .opsbook\n")
    return tmp_path


def test_a_job_runs_a_procedure_by_reference_and_logs_its_steps(setup: Path) -> None:
    out = io.StringIO()
    status = run_reference(
        f"{setup / 'jobs.md'}#tidy-up", config_path=setup / "opsbook.yaml", yes=True, out=out
    )
    assert status == 0, out.getvalue()
    assert "== step 1: Count files\n1\n" in out.getvalue()
    assert out.getvalue().rstrip().endswith("run 1 ok")
    assert not (setup / "data" / "old").exists()


def test_without_yes_a_job_stops_at_a_dangerous_step(setup: Path) -> None:
    out = io.StringIO()
    status = run_reference("jobs.md#Tidy Up", config_path=setup / "opsbook.yaml", out=out)
    assert status == 1
    assert "run 1 waiting: step 2 (Remove old files) needs confirmation: rm -rf" in out.getvalue()
    assert (setup / "data" / "old").exists()


def test_a_bad_reference_is_bad_input(setup: Path) -> None:
    out = io.StringIO()
    assert run_reference("jobs.md", config_path=setup / "opsbook.yaml", out=out) == 2
    assert "write RUNBOOK#PROCEDURE" in out.getvalue()
