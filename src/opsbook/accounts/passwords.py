"""Password hashing with scrypt (a memory-hard KDF from the standard library).

A stored hash reads `scrypt$<log2 n>$<r>$<p>$<salt>$<key>` (salt and key base64), so the cost can
be raised later and old hashes still verify; `needs_rehash` tells when to upgrade one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

LOG2_N = 15  # n = 32768: 32 MiB per hash with r = 8, about 0.1 s on one core
R = 8
P = 1
KEY_BYTES = 32
SALT_BYTES = 16
MIN_LENGTH = 8


def hash_password(password: str, *, log2_n: int | None = None) -> str:
    log2_n = LOG2_N if log2_n is None else log2_n
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, log2_n, R, P)
    return f"scrypt${log2_n}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for any malformed hash."""
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, _unb64(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, _unb64(key))


def needs_rehash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != "scrypt" or int(parts[1]) < LOG2_N


def check_strength(password: str) -> None:
    """ValueError with the reason when `password` is too weak to accept."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, so unknown user names cannot be told by timing."""
    verify_password(password, _dummy_hash())


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def _dummy_hash() -> str:
    return hash_password("opsbook-dummy-password")
