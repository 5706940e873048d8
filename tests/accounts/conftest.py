from __future__ import annotations

import pytest

from opsbook.accounts import passwords


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at a lower cost keeps the suite quick; the production cost has its own test."""
    monkeypatch.setattr(passwords, "LOG2_N", 10)
