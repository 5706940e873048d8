"""`http`: request a URL; check status, body text, JSON fields and response time.

Records the status code and body size, and for https the certificate's expiry.
"""

from __future__ import annotations

import json
from typing import Any

from opsbook.checks.context import ProbeContext
from opsbook.checks.kinds.certificates import record_expiry
from opsbook.checks.model import Observation
from opsbook.config.checks import HttpCheck, status_accepted
from opsbook.units import format_duration

BODY_KEPT_BYTES = 1024 * 1024  # enough to match text or JSON; the rest is counted, not kept


async def probe(spec: HttpCheck, ctx: ProbeContext, obs: Observation) -> None:
    session = ctx.http_session(spec.verify, spec.ca_file)
    started = ctx.clock.monotonic()
    async with session.request(
        spec.method,
        spec.url,
        headers=spec.headers,
        data=spec.body,
        allow_redirects=spec.follow_redirects,
    ) as response:
        der = getattr(response, "peer_certificate", None)
        body, size = bytearray(), 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if len(body) < BODY_KEPT_BYTES:
                body += chunk[: BODY_KEPT_BYTES - len(body)]
        status, charset = response.status, response.charset
    elapsed = ctx.clock.monotonic() - started
    obs.add("http_response_status_code", status)
    obs.add("http_response_size_bytes", size)
    if der is not None:
        record_expiry(obs, der, ctx.clock.now(), spec.cert_warning)
    if not status_accepted(status, spec.expect_status):
        obs.fail(f"HTTP {status} (expected {', '.join(spec.expect_status)})")
        return
    text = bytes(body).decode(charset or "utf-8", errors="replace")
    if spec.body_contains is not None and spec.body_contains not in text:
        obs.fail(f"response body does not contain {spec.body_contains!r}")
    if spec.json_equals:
        _check_json(spec, text, obs)
    if spec.max_response_time is not None and elapsed > spec.max_response_time:
        obs.warn(
            f"answered in {format_duration(elapsed)}, over the "
            f"{format_duration(spec.max_response_time)} limit"
        )


def _check_json(spec: HttpCheck, text: str, obs: Observation) -> None:
    try:
        data = json.loads(text)
    except ValueError:
        obs.fail("response body is not JSON")
        return
    for path, expected in spec.json_equals.items():
        found, actual = dig(data, path)
        if not found:
            obs.fail(f"JSON field {path} is missing")
        elif actual != expected:
            obs.fail(f"JSON field {path} is {json.dumps(actual)}, expected {json.dumps(expected)}")


def dig(data: Any, path: str) -> tuple[bool, Any]:
    """The value at dotted `path` (`a.b.0.c`: list items by index); (False, None) if absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node
