"""`tls`: the certificate a host:port presents: verified, and how long until it expires.

When verification fails the check fails with the reason, and still records the expiry by
reading the certificate over a second, unverified handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from opsbook.checks.context import ProbeContext, describe_error
from opsbook.checks.kinds.certificates import peer_certificate, record_expiry
from opsbook.checks.model import Observation
from opsbook.config.checks import TlsCheck


async def probe(spec: TlsCheck, ctx: ProbeContext, obs: Observation) -> None:
    try:
        der = await _handshake(spec, ctx.ssl_context(spec.verify, spec.ca_file))
    except ssl.SSLCertVerificationError as exc:
        obs.fail(describe_error(exc))
        der = await _handshake(spec, ctx.ssl_context(False, None))
    if der is None:
        obs.fail("the server sent no certificate")
        return
    record_expiry(obs, der, ctx.clock.now(), spec.cert_warning)


async def _handshake(spec: TlsCheck, context: ssl.SSLContext) -> bytes | None:
    _reader, writer = await asyncio.open_connection(
        spec.host, spec.port, ssl=context, server_hostname=spec.server_name or spec.host
    )
    try:
        return peer_certificate(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
