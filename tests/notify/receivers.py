"""Real receivers on loopback for notification tests: an HTTP webhook receiver and an SMTP sink."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many deliveries at once must queue, not be reset
    daemon_threads = True


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (port 0) that records every request it accepts.

    `answer` sets what it replies (status, body, headers); `refuse(status)` answers with an
    error; `down()` closes the port (connections are refused) and `up()` opens the same port
    again. `answers` can be a callable choosing the answer per request.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: list[Received] = []
        self.answer = Answer()
        self.choose: Callable[[Received], Answer] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.up()

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = Received("POST", self.path, dict(self.headers), self.rfile.read(length))
                answer = receiver.choose(request) if receiver.choose else receiver.answer
                with receiver._lock:
                    ok = 200 <= answer.status < 300
                    (receiver.received if ok else receiver.refused).append(request)
                payload = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        server = _Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def refuse(self, status: int = 503, body: str = "down for maintenance", **headers: str) -> None:
        self.answer = Answer(status, body, headers)

    def accept(self, body: str = "ok", **headers: str) -> None:
        self.answer = Answer(200, body, headers)

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Poll until `count` requests were accepted, or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.received)}")


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 (port 0) in its own thread, keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.smtp import SMTP

        self.messages: list[tuple[str, list[str], bytes]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = (envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
                sink.messages.append(message)
                return "250 OK"

        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._server: asyncio.Server | None = None

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            create = self._loop.create_server(
                lambda: SMTP(Handler(), hostname="sink.test"), "127.0.0.1", 0
            )
            self._server = self._loop.run_until_complete(create)
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        started.wait(5)
        assert self._server is not None
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
