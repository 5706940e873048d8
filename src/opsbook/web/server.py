"""One process, one event loop: the runtime's workers and the HTTP server side by side.

On SIGTERM or SIGINT the server stops accepting connections, open live streams end, in-flight
requests finish, and every worker is told to stop and given `grace` seconds to finish its step
(a running step is marked, the outbox is left consistent) before anything is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI

from opsbook.runtime import Runtime, Worker, WorkerFactory, run_workers
from opsbook.web.app import create_app

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the serve loop owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion on uvloop when it is installed (several times faster under
    load than the default loop), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def build_workers(runtime: Runtime, factories: Sequence[WorkerFactory]) -> list[Worker]:
    return [worker for factory in factories if (worker := factory(runtime)) is not None]


async def serve(
    runtime: Runtime,
    sock: socket.socket,
    factories: Sequence[WorkerFactory],
    *,
    stop: asyncio.Event | None = None,
    grace: float = 10.0,
    on_ready: Callable[[], None] | None = None,
    app_hook: Callable[[FastAPI], None] | None = None,
) -> None:
    """Run workers and HTTP until `stop` is set (or SIGTERM/SIGINT arrives)."""
    stop = stop or asyncio.Event()
    app = create_app(runtime)
    app.state.stopping = stop
    if app_hook is not None:
        app_hook(app)
    trusted = runtime.config.settings.server.trusted_proxies
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        timeout_graceful_shutdown=max(1, round(grace)),
        server_header=False,
    )
    server = _Uvicorn(config)
    loop = asyncio.get_running_loop()
    with _signals(loop, stop):
        workers = build_workers(runtime, factories)
        worker_task = asyncio.create_task(run_workers(workers, stop), name="workers")
        http_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
        while not server.started and not http_task.done():
            await asyncio.sleep(0.01)
        # What exists now (modules, config, the app) lives as long as the process: keep it out
        # of the collector's full passes, which otherwise stall the loop under load.
        gc.freeze()
        # Background threads (metric writes, rollups, snapshots) hand the interpreter back to
        # the event loop every millisecond instead of every five, which keeps answers quick.
        sys.setswitchinterval(SWITCH_INTERVAL)
        if on_ready is not None and server.started:
            on_ready()
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({stopper, http_task}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await app.state.runs.shutdown(grace)  # running steps end up marked interrupted
        await app.state.jobs.shutdown()  # jobs run by hand end up marked interrupted
        server.should_exit = True
        await _finish(worker_task, grace, "workers")
        await _finish(http_task, grace + 1.0, "http server")
        stopper.cancel()


async def _finish(task: asyncio.Task[None], grace: float, what: str) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=grace)
    except TimeoutError:
        log.warning("%s did not stop within %.0fs; cancelling", what, grace)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.contextmanager
def _signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Generator[None, None, None]:
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests): the caller sets `stop`
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
