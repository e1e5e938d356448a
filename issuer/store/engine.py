"""The database engine: SQLite or PostgreSQL, and how SQLite is run.

SQLite: foreign keys on, WAL journal, and every transaction but explicitly read-only ones
starts with ``BEGIN IMMEDIATE``, so writers queue for the lock instead of failing half-way when
a read turns into a write (the audit chain depends on this; see issuer/store/audit.py).
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from ..keys.home import Home

DATABASE_URL_ENV = "HEALTHCODE_DATABASE_URL"
#: Execution option: a read-only SQLite transaction (``BEGIN DEFERRED``, never blocks writers).
READ_ONLY = "healthcode_read_only"
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for the lock before giving up
_WAL_ATTEMPTS, _WAL_RETRY_DELAY = 50, 0.01


def database_url(home: Home, url: str | None = None) -> str:
    """Return ``url``, else ``$HEALTHCODE_DATABASE_URL``, else ``sqlite:///HOME/issuer.db``."""
    return url or os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{home.database}"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Return an engine for ``url`` (SQLite or PostgreSQL via psycopg 3), configured as above.

    A new SQLite database file is created with mode 0600 (its WAL files inherit the mode).
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        _create_private_file(url.database)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT}, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def read_only(engine: Engine) -> Engine:
    """Return ``engine`` for read-only transactions: on SQLite deferred (they never wait for
    a writer), on PostgreSQL ``READ ONLY`` (a write there is an error)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine.execution_options(**{READ_ONLY: True})


def _create_private_file(path: str) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (which would start transactions
    # lazily, at the first write) and issue BEGIN ourselves in _sqlite_on_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        # What is deleted (an erased person's key and fields, purged rows) is overwritten
        # with zeros in the file, not left in free space (issuer/store/erasure.py).
        cursor.execute("PRAGMA secure_delete = ON")
        _set_wal(cursor)
    finally:
        cursor.close()


def _set_wal(cursor: Any) -> None:
    # WAL is a property of the file, set once. Connections racing to set it on a new file can
    # get SQLITE_BUSY at once (SQLite's deadlock avoidance skips the busy handler): retry.
    for attempt in range(_WAL_ATTEMPTS):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or attempt == _WAL_ATTEMPTS - 1:
                raise
            time.sleep(_WAL_RETRY_DELAY * (attempt + 1))


def _sqlite_on_begin(connection: Any) -> None:
    read = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN DEFERRED" if read else "BEGIN IMMEDIATE")
