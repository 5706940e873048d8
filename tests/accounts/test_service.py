from __future__ import annotations

import pytest
from sqlalchemy import select

from opsbook.accounts import passwords
from opsbook.accounts import service as accounts
from opsbook.accounts.model import Role
from opsbook.accounts.service import LoginThrottled, ThrottlePolicy
from opsbook.accounts.tables import ApiToken, User
from opsbook.clock import FakeClock
from opsbook.errors import ConflictError, PermissionDenied, UsageError
from opsbook.journal import service as journal
from opsbook.storage import Database

POLICY = ThrottlePolicy(max_failures=3, window_seconds=600)


def _sign_in(db: Database, clock: FakeClock, password: str, address: str = "10.0.0.1"):
    with db.write() as session:
        return accounts.sign_in(
            session,
            clock,
            name="alice",
            password=password,
            address=address,
            lifetime=3600,
            policy=POLICY,
        )


@pytest.fixture
def alice(db: Database, clock: FakeClock) -> Database:
    with db.write() as session:
        accounts.add_user(
            session, clock, name="alice", password="s3cret-pass", role="responder", actor="root"
        )
    return db


def test_passwords_are_stored_as_scrypt_hashes(alice: Database) -> None:
    with alice.read() as session:
        user = session.scalars(select(User)).one()
    assert user.password_hash.startswith("scrypt$")
    assert "s3cret-pass" not in user.password_hash
    assert passwords.verify_password("s3cret-pass", user.password_hash)
    assert not passwords.verify_password("s3cret-pasS", user.password_hash)


def test_a_malformed_hash_never_verifies() -> None:
    assert not passwords.verify_password("x", "md5$abc")
    assert not passwords.verify_password("x", "scrypt$15$8$1$!!$!!")


def test_a_short_password_is_refused(db: Database, clock: FakeClock) -> None:
    with pytest.raises(UsageError, match="at least 8"), db.write() as session:
        accounts.add_user(session, clock, name="bob", password="short", role="viewer", actor="t")


def test_a_user_name_is_unique(alice: Database, clock: FakeClock) -> None:
    with pytest.raises(ConflictError), alice.write() as session:
        accounts.add_user(
            session, clock, name="alice", password="another-one", role="viewer", actor="t"
        )


def test_tokens_are_stored_as_digests_and_shown_once(alice: Database, clock: FakeClock) -> None:
    with alice.write() as session:
        issued = accounts.create_token(session, clock, name="ci", role="viewer", actor="root")
    assert issued.secret.startswith("opsb_")
    with alice.read() as session:
        row = session.scalars(select(ApiToken)).one()
        assert issued.secret not in {row.digest, row.prefix}
        assert row.digest == accounts.digest(issued.secret)
        principal = accounts.principal_for_token(session, clock, issued.secret)
    assert principal is not None and principal.name == "token:ci" and principal.role is Role.VIEWER


def test_a_revoked_or_expired_token_stops_working(alice: Database, clock: FakeClock) -> None:
    with alice.write() as session:
        revoked = accounts.create_token(session, clock, name="a", role="viewer", actor="t")
        expiring = accounts.create_token(
            session, clock, name="b", role="viewer", actor="t", expires_in=60
        )
        accounts.revoke_token(session, clock, name="a", actor="t")
    clock.advance(61)
    with alice.read() as session:
        assert accounts.principal_for_token(session, clock, revoked.secret) is None
        assert accounts.principal_for_token(session, clock, expiring.secret) is None


def test_a_users_token_never_exceeds_the_users_role(alice: Database, clock: FakeClock) -> None:
    with pytest.raises(UsageError, match="cannot hold"), alice.write() as session:
        accounts.create_token(session, clock, name="x", role="admin", actor="t", user="alice")
    with alice.write() as session:
        issued = accounts.create_token(
            session, clock, name="y", role="responder", actor="t", user="alice"
        )
        accounts.set_role(session, clock, name="alice", role="viewer", actor="t")
    with alice.read() as session:
        principal = accounts.principal_for_token(session, clock, issued.secret)
    assert principal is not None and principal.role is Role.VIEWER and principal.name == "alice"


def test_a_disabled_user_loses_sessions_and_tokens(alice: Database, clock: FakeClock) -> None:
    signed = _sign_in(alice, clock, "s3cret-pass")
    with alice.write() as session:
        issued = accounts.create_token(
            session, clock, name="t", role="viewer", actor="t", user="alice"
        )
        accounts.disable_user(session, clock, name="alice", actor="root")
    with alice.read() as session:
        assert accounts.principal_for_session(session, clock, signed.cookie) is None
        assert accounts.principal_for_token(session, clock, issued.secret) is None


def test_a_session_expires_after_its_lifetime(alice: Database, clock: FakeClock) -> None:
    signed = _sign_in(alice, clock, "s3cret-pass")
    with alice.read() as session:
        principal = accounts.principal_for_session(session, clock, signed.cookie)
    assert principal is not None and principal.csrf_token
    clock.advance(3601)
    with alice.read() as session:
        assert accounts.principal_for_session(session, clock, signed.cookie) is None


def test_repeated_failures_throttle_even_the_right_password(
    alice: Database, clock: FakeClock
) -> None:
    for _ in range(3):
        assert isinstance(_sign_in(alice, clock, "wrong-guess").error, PermissionDenied)
    throttled = _sign_in(alice, clock, "s3cret-pass")
    assert isinstance(throttled.error, LoginThrottled)
    assert 0 < throttled.error.retry_after <= 601
    clock.advance(601)
    assert _sign_in(alice, clock, "s3cret-pass").principal is not None


def test_one_address_guessing_many_names_is_throttled(alice: Database, clock: FakeClock) -> None:
    with alice.write() as session:
        for n in range(POLICY.max_failures * 4):
            accounts.sign_in(
                session,
                clock,
                name=f"guess{n}",
                password="nope-nope",
                address="10.9.9.9",
                lifetime=60,
                policy=POLICY,
            )
    result = _sign_in(alice, clock, "s3cret-pass", address="10.9.9.9")
    assert isinstance(result.error, LoginThrottled)
    assert _sign_in(alice, clock, "s3cret-pass", address="10.0.0.2").principal is not None


def test_every_change_is_journaled_with_its_actor(alice: Database, clock: FakeClock) -> None:
    with alice.write() as session:
        accounts.create_token(session, clock, name="ci", role="viewer", actor="root")
        accounts.revoke_token(session, clock, name="ci", actor="root")
    _sign_in(alice, clock, "bad-password")
    with alice.read() as session:
        rows = {(e.action, e.actor) for e in journal.entries(session)}
    assert {("user.add", "root"), ("token.create", "root"), ("token.revoke", "root")} <= rows
    assert ("user.sign_in_failed", "anonymous") in rows


def test_pruning_removes_expired_sessions_and_old_failures(
    alice: Database, clock: FakeClock
) -> None:
    _sign_in(alice, clock, "s3cret-pass")
    _sign_in(alice, clock, "bad-password")
    clock.advance(3601)
    with alice.write() as session:
        assert accounts.prune(session, clock.now(), POLICY) == 2
