from typing import Any

MS_SLOTS: int

def start(
    micros: bool,
    suspicious_words: tuple[bytes, ...],
    scanner_words: tuple[bytes, ...],
    cutoff: int | None,
    /,
) -> object:
    """A counter for one thread: what scan() counts accumulates in it."""

def scan(counter: object, block: bytes | memoryview, /) -> dict[str, Any]:
    """Count a block of whole lines; returns the rows Python must read itself."""

def merge(counter: object, other: object, /) -> None:
    """Add everything `other` counted into `counter` (both done scanning)."""

def totals(counter: object, /) -> dict[str, Any]:
    """Everything the counter counted."""

def failed_logins(counter: object, login_endpoints: list[int], /) -> dict[str, int]:
    """{IP: its 401 and 403 answers to the given endpoints (ids into totals' endpoints)}."""
