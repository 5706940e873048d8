"""Transports: how one message reaches one destination, once.

Each destination kind has one module here with the same shape: a `send(...)` that makes exactly
one attempt and returns an `Outcome` (the receiver's answer). Retries belong to the outbox.
To add a kind: a module here, a `TransportKind`, a branch in `Sender.send` and in
`destinations.parse_destination`, and a row in docs/notifications.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

import httpx

from opsbook.config.channels import ChannelConfig
from opsbook.notify.masking import masked
from opsbook.notify.model import Destination, Message, Outcome, TransportKind
from opsbook.secrets import Redactor

log = logging.getLogger(__name__)

APPRISE_THREADS = 8


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (loading the CA bundle takes ~30 ms)."""
    return ssl.create_default_context()


class Sender:
    """Sends messages to destinations; owns the HTTP client shared by every attempt."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()
        self._client: httpx.AsyncClient | None = None
        self._threads: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> Sender:
        self._client = httpx.AsyncClient(
            headers={"User-Agent": "opsbook"},
            follow_redirects=False,
            trust_env=False,
            verify=_tls_context(),
        )
        # Apprise blocks; its calls get their own threads so a receiver that hangs until its
        # timeout never holds up the store's threads (or other workers') in the default pool.
        self._threads = ThreadPoolExecutor(APPRISE_THREADS, thread_name_prefix="opsbook-apprise")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("use Sender as `async with Sender(...) as sender`")
        return self._client

    async def send(
        self, destination: Destination, message: Message, settings: ChannelConfig
    ) -> Outcome:
        """One attempt; never raises for a receiver's problem, and the answer holds no secret."""
        try:
            outcome = await self._send(destination, message, settings)
        except Exception as exc:  # noqa: BLE001 - any failure is this attempt's answer
            # No traceback in the log: its text could hold the URL, which log redaction
            # does not reach; the masked answer below is logged and kept in the receipt.
            outcome = Outcome(False, f"opsbook could not send it: {type(exc).__name__}: {exc}")
            outcome = self._masked(destination, outcome)
            log.error(
                "sending message %s to %s failed: %s",
                message.id,
                destination.display,
                outcome.answer,
            )
            return outcome
        return self._masked(destination, outcome)

    async def _send(
        self, destination: Destination, message: Message, settings: ChannelConfig
    ) -> Outcome:
        url, timeout = destination.url.reveal(), settings.timeout
        if destination.kind is TransportKind.PAGERDUTY:
            from opsbook.notify.transports import pagerduty

            return await pagerduty.send(self.client, url, message, timeout, settings.pagerduty_url)
        if destination.kind is TransportKind.SLACK:
            from opsbook.notify.transports import slack

            return await slack.send(self.client, url, message, timeout)
        from opsbook.notify.transports import apprise_url

        if self._threads is None:
            raise RuntimeError("use Sender as `async with Sender(...) as sender`")
        call = functools.partial(apprise_url.send, destination, message, timeout)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def _masked(self, destination: Destination, outcome: Outcome) -> Outcome:
        redactor = Redactor([*self.redactor.values, *destination.secrets])
        return Outcome(
            outcome.ok,
            redactor.redact(outcome.answer),
            outcome.retryable,
            outcome.retry_after,
            masked(outcome.details, redactor),
        )
