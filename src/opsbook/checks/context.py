"""What probes share: config, clock, redactor and pooled HTTP sessions; and error wording."""

from __future__ import annotations

import errno
import ssl
from dataclasses import dataclass, field

import aiohttp
from aiohttp.connector import Connection

from opsbook.clock import Clock
from opsbook.config import Config
from opsbook.secrets import Redactor


class CertifiedResponse(aiohttp.ClientResponse):
    """A response that keeps the server's certificate (DER), read as the response starts:
    aiohttp may give the connection back to its pool, or close it, before the probe looks."""

    peer_certificate: bytes | None = None

    async def start(self, connection: Connection) -> aiohttp.ClientResponse:
        transport = connection.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_object is not None:
            self.peer_certificate = ssl_object.getpeercert(binary_form=True)
        return await super().start(connection)


@dataclass
class ProbeContext:
    """What probes share during one process: config, clock, redactor and pooled HTTP clients."""

    config: Config
    clock: Clock
    redactor: Redactor = field(default_factory=Redactor)
    _sessions: dict[tuple[bool, str | None], aiohttp.ClientSession] = field(default_factory=dict)

    def http_session(self, verify: bool, ca_file: str | None) -> aiohttp.ClientSession:
        """A pooled HTTP session for this TLS setting (made inside the running loop).

        No connection cap, so one hung host with many checks cannot starve the others; each
        request is bounded by its check's timeout, not by the session.
        """
        key = (verify, ca_file)
        if key not in self._sessions:
            connector = aiohttp.TCPConnector(
                limit=0, ssl=self.ssl_context(verify, ca_file), ttl_dns_cache=60
            )
            self._sessions[key] = aiohttp.ClientSession(
                connector=connector,
                response_class=CertifiedResponse,
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": "opsbook-check"},
            )
        return self._sessions[key]

    def ssl_context(self, verify: bool, ca_file: str | None) -> ssl.SSLContext:
        cafile = str(self.config.resolve_path(ca_file)) if ca_file else None
        context = ssl.create_default_context(cafile=cafile)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


def describe_error(exc: BaseException) -> str:
    """A short text for an error: `connection refused`, `certificate verify failed: ...`.

    Looks down the chain of causes for the root: HTTP clients wrap socket errors twice.
    """
    root = _root_cause(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        reason = getattr(root, "verify_message", "") or str(root)
        return f"certificate verify failed: {reason}"
    if isinstance(root, OSError) and root.errno in _SOCKET_ERRORS:
        return _SOCKET_ERRORS[root.errno]
    if isinstance(root, OSError) and root.strerror:
        return root.strerror[0].lower() + root.strerror[1:]
    text = str(exc).strip() or str(root).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_SOCKET_ERRORS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    node = exc
    while id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, ssl.SSLCertVerificationError):
            return getattr(node, "certificate_error", node)  # aiohttp wraps the ssl error
        if isinstance(node, OSError) and node.errno is not None:
            return node
        following = node.__cause__ or node.__context__
        if following is None:
            return node
        node = following
    return node
