from __future__ import annotations

from opsbook.secrets import MASK, Redactor, Secret, is_secret_name


def test_secret_names_are_recognised() -> None:
    assert all(
        map(
            is_secret_name,
            ["DB_PASSWORD", "ADMIN_KEY", "SLACK_BOT_TOKEN", "JWT_SECRET", "SENTRY_DSN"],
        )
    )
    assert not any(map(is_secret_name, ["DB_HOST", "DB_USER", "KEYSPACE", "AUTHOR"]))


def test_a_secret_never_shows_itself() -> None:
    secret = Secret("s3cr3t")
    assert "s3cr3t" not in f"{secret} {secret!r}"
    assert secret.reveal() == "s3cr3t"


def test_known_values_are_masked_wherever_they_appear() -> None:
    redact = Redactor(["hunter22"])
    assert redact("connecting with hunter22...") == f"connecting with {MASK}..."


def test_url_passwords_are_masked() -> None:
    assert Redactor()("postgresql://app:pw@db:5432/x") == f"postgresql://app:{MASK}@db:5432/x"


def test_secret_named_assignments_are_masked_but_references_kept() -> None:
    redact = Redactor()
    assert redact("PGPASSWORD=abc123 psql") == f"PGPASSWORD={MASK} psql"
    assert redact('{"api_token": "xyz789"}') == f'{{"api_token": "{MASK}"}}'
    assert redact("PGPASSWORD=$DB_PASSWORD psql") == "PGPASSWORD=$DB_PASSWORD psql"


def test_data_is_masked_under_secret_keys() -> None:
    redacted = Redactor(["tok3n"]).redact_data({"DB_PASSWORD": "x1", "note": "tok3n here", "n": 3})
    assert redacted == {"DB_PASSWORD": MASK, "note": f"{MASK} here", "n": 3}


def test_env_secrets_are_learned_by_name_and_declaration() -> None:
    redact = Redactor()
    redact.add_from_env(
        {"DB_PASSWORD": "pw-one", "HOST": "db1", "CUSTOM": "pw-two"}, declared=["CUSTOM"]
    )
    assert redact.values == {"pw-one", "pw-two"}


def test_redaction_stays_linear_on_long_unbroken_text() -> None:
    import time

    text = "x" * 200_000 + " postgresql://u:pw1@h/db " + "y=" * 50_000
    start = time.perf_counter()
    redacted = Redactor(["tok3n"]).redact(text)
    assert time.perf_counter() - start < 1.0
    assert "pw1" not in redacted
