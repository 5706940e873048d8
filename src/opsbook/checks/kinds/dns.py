"""`dns`: resolve a name (A, AAAA, MX, ...) through the system's or a given name server."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.resolver

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import DnsCheck


async def probe(spec: DnsCheck, ctx: ProbeContext, obs: Observation) -> None:
    resolver = dns.asyncresolver.Resolver(configure=spec.server is None)
    if spec.server is not None:
        resolver.nameservers = [spec.server]
        resolver.port = spec.port
    try:
        answer = await resolver.resolve(spec.query, spec.record, lifetime=spec.timeout)
    except dns.resolver.NXDOMAIN:
        obs.add("dns_answers", 0)
        obs.fail(f"{spec.query}: no such name")
        return
    except dns.resolver.NoAnswer:
        obs.add("dns_answers", 0)
        obs.fail(f"{spec.query}: no {spec.record} records")
        return
    except dns.exception.Timeout:
        obs.fail(f"{spec.query}: the name server did not answer")
        return
    values = {_plain(record.to_text()) for record in answer}
    obs.add("dns_answers", len(values))
    missing = [value for value in spec.expect if _plain(value) not in values]
    if missing:
        got = ", ".join(sorted(values)) or "nothing"
        obs.fail(f"{spec.query} {spec.record} lacks {', '.join(missing)} (got {got})")


def _plain(text: str) -> str:
    return text.strip().rstrip(".").strip('"').lower()
