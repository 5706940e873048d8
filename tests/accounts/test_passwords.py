from __future__ import annotations

from opsbook.accounts import passwords


def test_new_hashes_use_the_production_cost_and_old_ones_are_upgraded() -> None:
    stored = passwords.hash_password("long enough", log2_n=15)
    assert stored.startswith("scrypt$15$8$1$")
    assert passwords.verify_password("long enough", stored)
    assert passwords.needs_rehash(passwords.hash_password("long enough", log2_n=9))
