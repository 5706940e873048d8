from __future__ import annotations

import re

import pytest

from opsbook.logs.signatures import (
    ANY_REQUEST_RE,
    SUSPICIOUS_WORDS,
    classify_request,
    is_scanner,
)

# One request per alternative of every request signature.
ATTACKS = {
    "sql_injection": [
        "GET /s?q=1 UNION ALL SELECT password FROM users",
        "GET /s?q=1+union+select+1,2",
        "GET /s?q=1%20UNION%20SELECT%20name",
        "GET /s?q=x/**/UNION/**/SELECT/**/1",
        "GET /s?id=1 select name from users",
        "GET /s?id=1' OR '1'='1",
        "GET /s?id=1%27%20or%20%271%27%3d%271",
        "GET /s?id=1 or 1=1",
        "GET /s?id=1+OR+1=1",
        "GET /s?id=sleep(5)",
        "GET /s?id=1;waitfor delay '0:0:5'",
        "GET /s?id=pg_sleep%285%29",
        "GET /s?t=information_schema.tables",
        "GET /s?c=xp_cmdshell",
        "GET /s?f=load_file(0x2f)",
        "GET /s?id=1'; DROP TABLE users",
        "GET /s?id=admin'--",
        "GET /s?id=admin%27%23",
    ],
    "xss": [
        "GET /?q=<script>alert(1)</script>",
        "GET /?q=%3Cscript%3E",
        "GET /?u=javascript:alert(1)",
        "GET /?u=javascript%3aalert",
        "GET /?x=onerror=alert",
        "GET /?x=onload%3dx",
        "GET /?x=<img src=x onerror=1>",
        "GET /?x=%3Csvg/onload=1",
        "GET /?c=document.cookie",
        "GET /?a=alert%28document%29",
    ],
    "path_traversal": [
        "GET /static/../../etc/passwd",
        "GET /static/..%2f..%2fetc",
        "GET /%2e%2e/%2e%2e/secret",
        "GET /%252e%252e%252fsecret",
        "GET /.%2e/secret",
        "GET /x?f=/etc/shadow",
        "GET /x?f=c:\\windows\\win.ini",
        "GET /x?f=%5cwindows%5cwin.ini",
        "GET /proc/self/environ",
        "GET /file.php%00.jpg",
    ],
}
ORDINARY = [
    "GET /api/v1/songs/42",
    "GET /api/unions/select-plan?sort=desc",
    "POST /api/session/refresh",
    "GET /docs/script-writing?page=2",
    "GET /a/b/c.d/e",
    "GET /search?q=or%20else",
]


@pytest.mark.parametrize(
    ("name", "request_line"), [(n, r) for n, rs in ATTACKS.items() for r in rs]
)
def test_each_signature_alternative_is_detected(name: str, request_line: str) -> None:
    assert ANY_REQUEST_RE.search(request_line)
    assert name in classify_request(request_line)


@pytest.mark.parametrize("request_line", ORDINARY)
def test_ordinary_requests_match_no_request_signature(request_line: str) -> None:
    assert classify_request(request_line) == []


@pytest.mark.parametrize("request_line", [r for rs in ATTACKS.values() for r in rs])
def test_the_kernel_prefilter_covers_every_attack(request_line: str) -> None:
    """Every attack holds a byte or a word the compiled scanner hands to the signatures."""
    special = re.search(r"[\x00-\x1f\x80-\uffff'(\\%<>;]", request_line)
    lowered = request_line.lower().encode()
    assert special or any(word in lowered for word in SUSPICIOUS_WORDS)


def test_scanner_user_agents() -> None:
    assert is_scanner("sqlmap/1.7.2#stable (https://sqlmap.org)")
    assert is_scanner("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)")
    assert not is_scanner("Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")
