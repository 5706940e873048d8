from __future__ import annotations

from pathlib import Path
from typing import Any

from opsbook.checks.model import CheckResult, Status
from tests.checks.conftest import metric, run_one

ACCESS = '127.0.0.1 - - [05/Jan/2026:12:00:00 +0000] "GET /api HTTP/1.1" {code} 512 "-" "curl"\n'


class Log:
    """A log file the test appends to and rotates, and the check that follows it."""

    def __init__(self, folder: Path, **settings: Any) -> None:
        self.path = folder / "app.log"
        self.path.write_text("old line ERROR before the first run\n")
        self.folder = folder
        self.spec = {"type": "log", "path": "app.log", "patterns": {"errors": "ERROR"}, **settings}
        self.cursor: dict[str, Any] | None = None

    def append(self, text: str) -> None:
        with self.path.open("a") as handle:
            handle.write(text)

    def check(self) -> CheckResult:
        result = run_one(self.folder, self.spec, self.cursor)
        self.cursor = result.cursor or self.cursor
        return result


def test_a_first_run_starts_at_the_end_and_later_runs_count_new_lines(tmp_path: Path) -> None:
    log = Log(tmp_path)
    first = log.check()
    log.append("ok\nERROR disk full\nERROR again\n")
    second = log.check()
    assert metric(first, "log_lines_total") == 0
    assert metric(second, "log_lines_total") == 3
    assert metric(second, "log_matches_total", pattern="errors") == 2
    assert second.status is Status.HEALTHY


def test_reading_from_the_beginning_counts_what_is_there(tmp_path: Path) -> None:
    log = Log(tmp_path, start_at="beginning")
    assert metric(log.check(), "log_matches_total", pattern="errors") == 1


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.check()
    log.append("ERROR partial")
    assert metric(log.check(), "log_lines_total") == 0
    log.append(" line\n")
    result = log.check()
    assert metric(result, "log_lines_total") == 1
    assert metric(result, "log_matches_total", pattern="errors") == 1


def test_rotation_reads_the_rest_of_the_old_file_then_the_new_one(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.check()
    log.append("ERROR one\n")
    log.check()
    log.append("ERROR written just before rotation\n")
    log.path.rename(tmp_path / "app.log.1")
    log.path.write_text("ERROR in the new file\nok\n")
    result = log.check()
    assert metric(result, "log_lines_total") == 4
    assert metric(result, "log_matches_total", pattern="errors") == 3
    assert metric(result, "log_rotations_total") == 1


def test_a_truncated_file_is_read_from_the_top(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.check()
    log.append("a much longer line than what follows\n")
    log.check()
    log.path.write_text("ERROR\n")  # copytruncate
    result = log.check()
    assert metric(result, "log_matches_total", pattern="errors") == 1
    assert metric(result, "log_rotations_total") == 1


def test_too_many_new_matches_fail(tmp_path: Path) -> None:
    log = Log(tmp_path, max_matches={"errors": 2})
    log.check()
    log.append("ERROR\nERROR\n")
    result = log.check()
    assert result.status is Status.UNHEALTHY
    assert result.error == "2 new lines match errors (limit 2)"


def test_an_access_log_counts_status_classes_and_fails_on_5xx(tmp_path: Path) -> None:
    log = Log(tmp_path, patterns={}, access_log=True, max_5xx_ratio="20%")
    log.check()
    log.append("".join(ACCESS.format(code=c) for c in (200, 200, 404, 503, 500)))
    result = log.check()
    assert metric(result, "log_http_responses_total", code="2xx") == 2
    assert metric(result, "log_http_responses_total", code="5xx") == 2
    assert metric(result, "log_http_5xx_ratio") == 0.4
    assert result.error == "40.0% of 5 new requests answered 5xx"


def test_a_missing_log_file_fails_by_path(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "log", "path": "nope.log", "patterns": {"e": "E"}})
    assert result.status is Status.UNHEALTHY
    assert result.error == f"log file not found: {tmp_path / 'nope.log'}"
