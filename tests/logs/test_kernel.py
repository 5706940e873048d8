"""The compiled kernel's counters: what two threads count and merge equals what one counts."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta
from typing import Any

import pytest

from opsbook.logs import native
from opsbook.logs.signatures import SCANNER_WORDS, SUSPICIOUS_WORDS
from tests.logs.builder import START, access, minutes

if not native.available():
    if os.environ.get("CI") == "true":
        pytest.fail("the compiled log kernel is not built", pytrace=False)
    pytest.skip("the compiled log kernel is not built", allow_module_level=True)

from opsbook.logs import _scan


def _blocks() -> list[bytes]:
    lines = []
    for i in range(400):
        when = START + minutes(i) + timedelta(days=50 * (i % 3))  # hours far apart too
        status = (200, 401, 403, 429, 500)[i % 5]
        request = ("POST /login", "GET /api/songs/7", "GET /admin/users/12")[i % 3]
        ip = f"10.0.{i % 4}.{i % 7}"
        lines.append(access(ip, f"{request} HTTP/1.1", status, when=when, duration=f"{i}.25"))
    text = ("\n".join(lines) + "\n").encode()
    cut = [0, len(text) // 3, len(text) // 2, len(text)]
    cut = [text.rfind(b"\n", 0, at) + 1 if 0 < at < len(text) else at for at in cut]
    return [text[a:b] for a, b in itertools.pairwise(cut)]


def _counter() -> Any:
    return _scan.start(True, SUSPICIOUS_WORDS, SCANNER_WORDS, None)


def _summary(counter: Any) -> dict[str, Any]:
    counted = _scan.totals(counter)
    endpoints = counted["endpoints"]
    logins = [e for e in counted["auth_endpoints"] if "login" in endpoints[e]]
    return {
        "numbers": [counted[k] for k in ("requests", "bytes_sent", "first_time", "last_time")],
        "status": counted["status"],
        "hours": counted["hours"],
        "per_ms": counted["per_ms"],
        "other": sorted(memoryview(counted["timed_other"]).cast("d").tolist()),
        "endpoints": {
            name: (requests, errors)
            for name, requests, errors in zip(
                endpoints,
                counted["endpoint_requests"],
                counted["endpoint_errors"] + [0] * len(endpoints),
                strict=False,
            )
        },
        "denied": {
            ip: tuple(counted["ip_denied"][3 * i : 3 * i + 3])
            for i, ip in enumerate(counted["ips"])
        },
        "failed_logins": _scan.failed_logins(counter, logins),
    }


def test_two_merged_counters_count_what_one_counts() -> None:
    one = _counter()
    for block in _blocks():
        _scan.scan(one, block)
    first, second = _counter(), _counter()
    for i, block in enumerate(_blocks()):
        _scan.scan(second if i % 2 else first, block)
    _scan.merge(first, second)
    merged, alone = _summary(first), _summary(one)
    assert merged == alone
    assert len(alone["hours"]) > 3  # some hours were counted outside the in-place window
    assert alone["failed_logins"] and alone["other"]


def test_a_counter_cannot_be_merged_into_itself() -> None:
    counter = _counter()
    with pytest.raises(ValueError, match="itself"):
        _scan.merge(counter, counter)
