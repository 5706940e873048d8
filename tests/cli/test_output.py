"""What the CLI prints on stderr stays greppable."""

from __future__ import annotations

import pytest

from opsbook.cli import output


def test_a_long_error_stays_on_one_line_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    message = "/tmp/" + "x" * 150 + "/opsbook.yaml:12: unknown setting 'checkz'"
    output.err_console.file = None  # type: ignore[assignment]  # follow capsys's sys.stderr
    output.error(message)
    assert capsys.readouterr().err == f"error: {message}\n"
