"""What `logs scan` looks for: attack signatures, scanner user agents, logins and log levels.

Each attack signature is a case-insensitive regular expression matched against the request
line (method, path and query, URL-decoded once as well as raw) or, for scanners, the user
agent. `ANY_ATTACK` joins them into one pattern the vectorised scanner runs over every request
(Rust regex); rows that match are then classified here, in Python, one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

BRUTE_FORCE_THRESHOLD = 50
"""Failed logins from one IP in the scan window above which the IP is flagged (seed 003)."""


SCANNER_WORDS = (
    b"sqlmap",
    b"nikto",
    b"nmap",
    b"masscan",
    b"zgrab",
    b"nuclei",
    b"acunetix",
    b"wpscan",
    b"dirbuster",
    b"gobuster",
    b"dirb/",
    b"ffuf",
    b"wfuzz",
    b"nessus",
    b"openvas",
    b"burp",
    b"w3af",
    b"zmeu",
    b"havij",
    b"jorgee",
    b"netsparker",
    b"qualys",
    b"whatweb",
    b"arachni",
    b"skipfish",
    b"commix",
    b"hydra",
)
"""User agents holding one of these (any case) are known scanners."""


@dataclass(frozen=True)
class Signature:
    name: str  # sql_injection, xss, path_traversal, scanner
    title: str
    pattern: str  # case-insensitive regular expression (Python and Rust syntax alike)
    field: str  # "request" or "user_agent"


SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "sql_injection",
        "SQL injection",
        r"union(?:\s|\+|/\*.*?\*/|%20|%09|%0a)+(?:all(?:\s|\+|%20)+)?select"
        r"|select(?:\s|\+|%20)+.{0,40}?(?:\s|\+|%20)from(?:\s|\+|%20)"
        r"|(?:'|%27)(?:\s|\+|%20)*(?:or|and)(?:\s|\+|%20)+(?:'|%27)?[a-z0-9_]*(?:'|%27)?(?:\s|\+|%20)*(?:=|%3d|like)"
        r"|(?:\s|\+|%20|'|%27)or(?:\s|\+|%20)+1(?:\s|\+|%20)*(?:=|%3d)(?:\s|\+|%20)*1"
        r"|(?:sleep|benchmark|pg_sleep|waitfor(?:\s|\+|%20)+delay)(?:\s|\+|%20)*(?:\(|%28|')"
        r"|information_schema|xp_cmdshell|load_file(?:\(|%28)"
        r"|(?:'|%27)(?:\s|\+|%20)*(?:;|%3b)(?:\s|\+|%20)*(?:drop|insert|update|delete)(?:\s|\+|%20)"
        r"|(?:'|%27)(?:\s|\+|%20)*(?:--|%2d%2d|#|%23)",
        "request",
    ),
    Signature(
        "xss",
        "Cross-site scripting",
        r"<(?:\s|%20)*script|%3c(?:\s|%20)*script|javascript(?::|%3a)"
        r"|on(?:error|load|mouseover|focus)(?:\s|%20)*(?:=|%3d)"
        r"|<(?:svg|img|iframe|body)[^>]*on[a-z]+(?:\s|%20)*=|%3c(?:svg|img|iframe|body)"
        r"|document\.cookie|alert(?:\(|%28)",
        "request",
    ),
    Signature(
        "path_traversal",
        "Path traversal",
        r"(?:\.\.|%2e%2e|%252e%252e|\.%2e|%2e\.)(?:/|\\|%2f|%5c|%252f)"
        r"|/etc/(?:passwd|shadow|hosts)|(?:c:|%63%3a)?(?:\\|%5c)windows(?:\\|%5c)win\.ini"
        r"|/proc/self/environ|%00|\x00",
        "request",
    ),
    Signature(
        "scanner",
        "Known scanner",
        "|".join(re.escape(word.decode()) for word in SCANNER_WORDS),
        "user_agent",
    ),
)

REQUEST_SIGNATURES = tuple(s for s in SIGNATURES if s.field == "request")
SCANNER = next(s for s in SIGNATURES if s.field == "user_agent")

ANY_REQUEST_ATTACK = "(?i)" + "|".join(f"(?:{s.pattern})" for s in REQUEST_SIGNATURES)
"""One pattern for every request signature: a cheap first pass over all requests."""

SCANNER_PATTERN = "(?i)" + SCANNER.pattern
ANY_REQUEST_RE = re.compile(ANY_REQUEST_ATTACK)

SUSPICIOUS_WORDS = (
    b"union",
    b"select",
    b" or ",
    b" or+",
    b"+or+",
    b"+or ",
    b"information_schema",
    b"xp_cmdshell",
    b"javascript",
    b"onerror",
    b"onload",
    b"onmouseover",
    b"onfocus",
    b"document.cookie",
    b"/etc/",
    b"proc/self",
    b"..",
)
"""Lower-case words that make the compiled scanner hand a request to the signatures.

Together with the bytes it always hands over (control and non-ASCII bytes and ' ( \\ % < > ;)
they must cover every request signature: each alternative above needs one of those bytes or
one of these words. tests/logs/test_signatures.py checks this on an example per alternative.
"""

_COMPILED = {s.name: re.compile(s.pattern, re.IGNORECASE | re.DOTALL) for s in SIGNATURES}

LOGIN_PATH = re.compile(
    r"(?:login|log-in|signin|sign-in|sign_in|/auth(?:/|$|\?)|authenticate|/session|/token"
    r"|oauth|wp-login\.php|xmlrpc\.php|/admin/?$)",
    re.IGNORECASE,
)
LOGIN_PATH_PATTERN = "(?i)" + LOGIN_PATH.pattern
"""A request to one of these paths answered 401 or 403 is a failed login."""

FAILED_LOGIN_MESSAGE = re.compile(
    r"authentication failed|auth(?:entication)? failure|failed (?:login|password|sign[- ]?in)"
    r"|login failed|invalid (?:password|credentials|login)|bad credentials"
    r"|incorrect password|password mismatch",
    re.IGNORECASE,
)
"""An application-log line saying a login failed (counted per the IP it names)."""

IP_IN_TEXT = re.compile(
    r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})(?![\w.:])"
)

ERROR_LEVELS = frozenset({"ERROR", "ERR", "CRITICAL", "CRIT", "FATAL", "SEVERE", "ALERT", "EMERG"})
WARN_LEVELS = frozenset({"WARN", "WARNING"})


def classify_request(request: str) -> list[str]:
    """The request signatures a request line matches (raw or URL-decoded once)."""
    decoded = unquote_plus(request, errors="replace")
    return [
        s.name
        for s in REQUEST_SIGNATURES
        if _COMPILED[s.name].search(request) or _COMPILED[s.name].search(decoded)
    ]


def is_scanner(user_agent: str) -> bool:
    return bool(_COMPILED["scanner"].search(user_agent))


def level_class(level: str) -> str | None:
    """ "ERROR" or "WARN" for the levels counted per hour, else None."""
    upper = level.upper()
    if upper in ERROR_LEVELS:
        return "ERROR"
    if upper in WARN_LEVELS:
        return "WARN"
    return None
