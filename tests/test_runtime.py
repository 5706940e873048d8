from __future__ import annotations

import asyncio
import logging

import pytest

from opsbook import runtime
from opsbook.secrets import Redactor


class Flaky:
    name = "flaky"

    def __init__(self) -> None:
        self.calls = 0

    async def run(self, stop: asyncio.Event) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom")
        stop.set()


def test_a_crashed_worker_is_restarted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "RESTART_DELAY_SECONDS", (0.0,))
    worker = Flaky()
    asyncio.run(runtime.run_workers([worker], asyncio.Event()))
    assert worker.calls == 2
    assert "worker flaky crashed" in caplog.text


def test_log_records_are_redacted() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "connecting with %s", ("pw-secret",), None
    )
    runtime.RedactingFilter(Redactor(["pw-secret"])).filter(record)
    assert "pw-secret" not in record.getMessage()


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise ValueError("cannot reach postgresql://app:pw-in-url@db/x with pw-secret")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    runtime.RedactingFilter(Redactor(["pw-secret"])).filter(record)
    rendered = logging.Formatter().format(record)
    assert "pw-secret" not in rendered
    assert "pw-in-url" not in rendered
    assert "ValueError" in rendered
