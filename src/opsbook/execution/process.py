"""Running one command in its own process group, streaming its output, with a deadline.

The command starts a new session (`start_new_session`), so Ctrl-C at the terminal reaches
opsbook only, and a timeout or an interrupt can end the step's whole tree: SIGTERM to the group
and every descendant, SIGKILL to whatever is left after a short grace. Stdin is /dev/null.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import psutil

KILL_GRACE_SECONDS = 2.0
DRAIN_SECONDS = 0.5  # how long to keep reading after the command exits (background children)
READ_SIZE = 65536


class Ending(StrEnum):
    EXITED = "exited"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ProcessResult:
    ending: Ending
    exit_code: int | None  # None when opsbook killed it


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    timeout: float,
    stop: asyncio.Event,
    on_output: Callable[[bytes], None],
    on_start: Callable[[int], None] | None = None,
) -> ProcessResult:
    """Run `argv` until it exits, `timeout` seconds pass, or `stop` is set."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            cwd=cwd or None,
            start_new_session=True,
        )
    except OSError as exc:
        if on_start is not None:
            on_start(0)
        on_output(f"cannot start {argv[0]}: {exc.strerror or exc}\n".encode())
        return ProcessResult(Ending.EXITED, 127)
    try:
        if on_start is not None:
            on_start(proc.pid)
        assert proc.stdout is not None
        reader = asyncio.create_task(_pump(proc.stdout, on_output))
        ending = await _wait(proc, timeout, stop)
    except BaseException:
        # Cancelled, or opsbook itself failed: the step must not run on unwatched.
        kill_tree(proc.pid, grace=0.2)
        raise
    if ending is not Ending.EXITED:
        await asyncio.to_thread(kill_tree, proc.pid)
    exit_code = await proc.wait()
    # Children that outlive the command may hold the pipe open: read what is there, then stop.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(reader), DRAIN_SECONDS)
    if not reader.done():
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return ProcessResult(ending, exit_code if ending is Ending.EXITED else None)


async def _pump(stream: asyncio.StreamReader, on_output: Callable[[bytes], None]) -> None:
    while data := await stream.read(READ_SIZE):
        on_output(data)


async def _wait(proc: asyncio.subprocess.Process, timeout: float, stop: asyncio.Event) -> Ending:
    exited = asyncio.ensure_future(proc.wait())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {exited, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopped.cancel()
    if exited in done:
        return Ending.EXITED
    exited.cancel()
    return Ending.INTERRUPTED if stop.is_set() else Ending.TIMED_OUT


def use_pidfd_child_watcher() -> None:
    """Watch step processes through pidfds, not one thread each (Python 3.12 does this itself).

    For programs that own their event loop (the CLI); call before `asyncio.run`.
    """
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


def kill_tree(pgid: int, grace: float = KILL_GRACE_SECONDS) -> None:
    """End process group `pgid` and every descendant of its leader: TERM, then KILL."""
    victims = _descendants(pgid)
    _signal_all(pgid, victims, signal.SIGTERM)
    alive = _wait_gone(victims, grace)
    if alive or _group_alive(pgid):
        _signal_all(pgid, alive, signal.SIGKILL)
        _wait_gone(alive, grace)


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of `procs` still running after `timeout` seconds. Polls: it must not reap our own
    child, whose exit status asyncio collects."""
    deadline = time.monotonic() + timeout
    alive = procs
    while True:
        alive = [p for p in alive if _running(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def _signal_all(pgid: int, procs: list[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
