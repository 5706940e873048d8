"""`tcp`: open a TCP connection to host:port; the connect time is the check's duration."""

from __future__ import annotations

import asyncio
import contextlib

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import TcpCheck


async def probe(spec: TcpCheck, ctx: ProbeContext, obs: Observation) -> None:
    _reader, writer = await asyncio.open_connection(spec.host, spec.port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
