from tests.pg.conftest import open_conn, pg_url  # noqa: F401 - shared fixtures
