"""Running one job's process: its own process group, a timeout that kills the whole group,
and output kept within a cap (the head and the tail, with what was left out counted)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

OUTPUT_LIMIT = 64 * 1024
"""Bytes of output kept per run: the first and the last half of this."""
KILL_GRACE_SECONDS = 5.0
"""After SIGTERM at the timeout, how long the group has before SIGKILL."""
_DRAIN_SECONDS = 1.0  # output still arriving after the main process exited
_CHUNK = 64 * 1024


class CappedOutput:
    """Keeps the first and last `limit / 2` bytes of a stream and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.half = limit // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> str:
        omitted = self.total - len(self.head) - len(self.tail)
        if omitted <= 0:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", "replace")
        head = bytes(self.head).decode("utf-8", "replace")
        tail = bytes(self.tail).decode("utf-8", "replace")
        return f"{head}\n[… {omitted} bytes of output left out …]\n{tail}"


@dataclass(frozen=True, slots=True)
class ProcessResult:
    exit_code: int | None  # None when the process could not be started
    timed_out: bool
    output: str
    output_bytes: int
    duration_seconds: float
    error: str = ""  # why it could not be started


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    output_limit: int = OUTPUT_LIMIT,
    kill_grace: float = KILL_GRACE_SECONDS,
) -> ProcessResult:
    """Run `argv` in a new session (its own process group) and wait at most `timeout` seconds.

    At the timeout the whole group gets SIGTERM, then SIGKILL after `kill_grace`; the group is
    also killed when the caller is cancelled. A process the job deliberately leaves running in
    the background after a normal exit is left alone.
    """
    started = time.monotonic()
    try:
        proc = await _spawn(argv, env, cwd, kill_grace)
    except OSError as exc:
        return ProcessResult(None, False, "", 0, 0.0, error=f"cannot start {argv[0]}: {exc}")
    output = CappedOutput(output_limit)
    reader = asyncio.create_task(_read(proc, output))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout=timeout)
        except TimeoutError:
            timed_out = True
            await _kill_group(proc, kill_grace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), timeout=_DRAIN_SECONDS)
    finally:
        reader.cancel()
        if proc.returncode is None:  # cancelled: take the whole group down with us
            await asyncio.shield(_kill_group(proc, kill_grace))
    return ProcessResult(
        exit_code=proc.returncode,
        timed_out=timed_out,
        output=output.text(),
        output_bytes=output.total,
        duration_seconds=time.monotonic() - started,
    )


async def _spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, kill_grace: float
) -> asyncio.subprocess.Process:
    # Cancelled half-way through, asyncio would wait for the new process to exit on its own;
    # let the start finish instead and kill the group.
    spawning = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    )
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        with contextlib.suppress(OSError):
            await _kill_group(await spawning, kill_grace)
        raise


async def _read(proc: asyncio.subprocess.Process, output: CappedOutput) -> None:
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(_CHUNK):
        output.add(chunk)


async def _kill_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout=grace)
    except TimeoutError:
        _signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
