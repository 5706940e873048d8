from __future__ import annotations

import pytest

from opsbook.config import config_from_data
from opsbook.connections import resolve_connection, url_from_env
from opsbook.errors import NotFoundError


def test_a_configured_name_is_found() -> None:
    config = config_from_data({"connections": {"main": "postgresql://a@h/db"}})
    assert resolve_connection(config, "main").url == "postgresql://a@h/db"


def test_an_unknown_name_lists_the_known_ones() -> None:
    config = config_from_data({"connections": {"main": "postgresql://a@h/db"}})
    with pytest.raises(NotFoundError, match=r"unknown connection 'other' \(known: main\)"):
        resolve_connection(config, "other")


def test_db_variables_describe_a_connection_with_an_escaped_password() -> None:
    env = {"DB_HOST": "127.0.0.1", "DB_USER": "app", "DB_PASSWORD": "p@ss/w", "DB_NAME": "test"}
    assert url_from_env(env) == "postgresql://app:p%40ss%2Fw@127.0.0.1:5432/test"


def test_database_url_wins_over_db_variables() -> None:
    assert (
        url_from_env({"DATABASE_URL": "postgresql://x@y/z", "DB_HOST": "h"}) == "postgresql://x@y/z"
    )


def test_without_any_description_the_error_says_what_to_supply() -> None:
    with pytest.raises(NotFoundError, match="DATABASE_URL"):
        resolve_connection(config_from_data({}), None, {})
