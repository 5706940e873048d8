from typing import Any

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

def totals(counter: object, /) -> dict[str, Any]:
    """Everything the counter counted."""
