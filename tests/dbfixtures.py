"""Database fixtures (a pytest plugin, loaded by conftest.py): every storage test runs on a
fresh SQLite file and on a fresh PostgreSQL schema.

PostgreSQL runs when ``HEALTHCODE_TEST_POSTGRES_URL`` names a server (``url=$(
scripts/postgres-test-server.sh start)`` starts a throwaway one). Without it the PostgreSQL
cases are skipped, except under CI (``$CI`` set), where they fail: CI must run both.
The session makes its own database (``healthcode_test_<random>``, dropped at the end; if the
role may not create databases, the given one is used) and each test gets its own schema in it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from conftest import TEST_PASSPHRASE
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.store import Store
from issuer.store.pii import DataKeys

POSTGRES_URL_ENV = "HEALTHCODE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database made for this test session (dropped afterwards)."""
    server = os.environ.get(POSTGRES_URL_ENV)
    if not server:
        if in_ci():
            pytest.fail(f"CI is set but {POSTGRES_URL_ENV} is not: CI must run the PostgreSQL "
                        f"tests (see .ci/run and scripts/postgres-test-server.sh)")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV}=postgresql+psycopg://… "
                    f"(`scripts/postgres-test-server.sh start` prints one)")
    name = f"healthcode_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except ProgrammingError:  # no CREATEDB privilege: per-test schemas still isolate
        admin.dispose()
        yield server
        return
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'issuer.db'}"
        return
    database = request.getfixturevalue("postgres_database")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (make_url(database).update_query_dict({"options": f"-csearch_path={schema}"})
               .render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def data_keys() -> DataKeys:
    """Data keys made once (deriving a key-file's wrapping key costs ~0.1 s per store)."""
    return DataKeys.generate()


@pytest.fixture
def store_home(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "home")
    home.root.mkdir()
    return home


@pytest.fixture
def store(db_url: str, store_home: Home, data_keys: DataKeys) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    with Store.open(store_home, url=db_url, data_keys=data_keys) as opened:
        yield opened
