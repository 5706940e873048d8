"""A real opsbook server on 127.0.0.1 (port 0) in a thread, with fixed people.

The people: anonymous, `vera` (viewer), `rita` (responder) and `adam` (admin), each with a
password for the browser and an API token for the API.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvloop

from opsbook.accounts import service as accounts
from opsbook.accounts.model import Role
from opsbook.runtime import Runtime, WorkerFactory
from opsbook.web import server

PEOPLE = {"viewer": "vera", "responder": "rita", "admin": "adam"}
PASSWORD = "correct horse battery"


@dataclass
class Live:
    url: str
    runtime: Runtime
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token

    def client(self, role: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client acting as the person with `role` (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, **{"timeout": 10, **kwargs})

    @contextmanager
    def sign_in(self, role: str) -> Iterator[httpx.Client]:
        """A client holding a web session (cookie) for the person with `role`."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            page = client.get("/login")
            response = client.post(
                "/login",
                data={"name": PEOPLE[role], "password": PASSWORD, "csrf_token": form_csrf(page)},
            )
            assert response.status_code == 303, response.text
            yield client

    def csrf(self, client: httpx.Client) -> str:
        """The session's CSRF token, as a page's forms carry it."""
        return form_csrf(client.get("/journal", headers={"accept": "text/html"}))


def form_csrf(page: httpx.Response) -> str:
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def add_people(runtime: Runtime) -> dict[str, str]:
    tokens = {}
    with runtime.db.write() as session:
        for role, name in PEOPLE.items():
            accounts.add_user(
                session, runtime.clock, name=name, password=PASSWORD, role=role, actor="test"
            )
            issued = accounts.create_token(
                session,
                runtime.clock,
                name=f"{name}-token",
                role=Role(role),
                actor="test",
                user=name,
            )
            tokens[role] = issued.secret
    return tokens


@contextmanager
def serve_live(
    runtime: Runtime, factories: Sequence[WorkerFactory] = (), *, people: bool = True
) -> Iterator[Live]:
    """Run `opsbook serve`'s loop for `runtime` in a thread until the block ends."""
    tokens = add_people(runtime) if people else {}
    sock = server.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    loop = uvloop.new_event_loop()  # as `opsbook serve` runs; subprocesses work off the main thread
    stop = asyncio.Event()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def on_ready() -> None:
        ready.set()

    async def main() -> None:
        holder["task"] = asyncio.current_task()
        await server.serve(
            runtime,
            sock,
            factories,
            stop=stop,
            grace=3.0,
            on_ready=on_ready,
            app_hook=lambda app: holder.__setitem__("app", app),
        )

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError("the server did not start within 15 s")
    try:
        yield Live(
            url=f"http://127.0.0.1:{port}", runtime=runtime, app=holder["app"], tokens=tokens
        )
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()
