"""Bulk writes for the seeding script (bench/seed.py), one class per database: the same few
operations, fast. PostgreSQL: ``COPY … FROM STDIN`` through psycopg 3; SQLite: ``executemany``
in large ``BEGIN IMMEDIATE`` transactions with the durability pragmas off for the connection.

Both work on a raw connection of the store's own engine (so its URL, search path and SQLite
settings apply) and append to the audit chain the way :func:`issuer.store.audit.append`
does: under the same lock, after the last entry read inside the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Engine

from issuer.store.audit import AUDIT_LOCK_KEY, GENESIS_HASH

Row = Sequence[Any]


class Writer:
    """A raw connection of ``engine`` for bulk writes; close it with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        self.connection: Any = self._raw.driver_connection

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; commits on success, rolls back on an exception."""
        raise NotImplementedError

    def _one(self, sql: str, params: Row = ()) -> Any:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            cursor.close()

    def audit_head(self) -> tuple[int, str]:
        """Inside a transaction: take the audit lock; return the chain's last (seq, hash)."""
        raise NotImplementedError

    def _last_entry(self) -> tuple[int, str]:
        last = self._one("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1")
        return (last[0], last[1]) if last else (0, GENESIS_HASH)

    def observation_ids(self, count: int) -> list[int]:
        """Inside a transaction: ``count`` fresh observation ids."""
        raise NotImplementedError

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """Write ``rows`` (made as they are read: the database works meanwhile)."""
        raise NotImplementedError

    def count(self, table: str) -> int:
        return int(self._one(f"SELECT count(*) FROM {table}")[0])  # noqa: S608 (our names)

    def person_ids_after(self, last: str, limit: int) -> list[str]:
        """Up to ``limit`` person ids after ``last``, in id order (the primary key's index)."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._marks("SELECT id FROM person WHERE id > ? ORDER BY id "
                                       "LIMIT ?"), (last, limit))
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _marks(self, sql: str) -> str:
        return sql

    def finish(self) -> None:
        """After the last transaction: what a running database would have done meanwhile."""


class PostgresWriter(Writer):
    """``COPY`` in text format; observation ids from the column's own sequence."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.connection.autocommit = True  # transaction() then opens real ones, not savepoints

    def close(self) -> None:
        self.connection.autocommit = False  # as the pool handed it out
        super().close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.connection.transaction():
            yield

    def audit_head(self) -> tuple[int, str]:
        self._one("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
        return self._last_entry()

    def observation_ids(self, count: int) -> list[int]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('observation', 'id')) "
                           "FROM generate_series(1, %s)", (count,))
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.close()

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        # The queued writer sends from a thread of its own: the server parses and indexes
        # while this thread makes the next rows.
        with self.connection.cursor() as cursor, \
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN",
                            writer=QueuedLibpqWriter(cursor)) as copy:
            for row in rows:
                copy.write_row(row)

    def _marks(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def finish(self) -> None:
        # Autovacuum would have analysed tables this size by the time anyone re-issues.
        self.connection.execute("ANALYZE person, observation, organisation, audit_entry")


class SqliteWriter(Writer):
    """``executemany`` inside ``BEGIN IMMEDIATE`` (the write lock also serialises the audit
    chain, as in issuer/store/db.py); no fsync while seeding."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        for pragma in ("synchronous = OFF", "cache_size = -262144", "temp_store = MEMORY"):
            self.connection.execute(f"PRAGMA {pragma}")

    def close(self) -> None:
        self.connection.execute("PRAGMA synchronous = FULL")
        super().close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def audit_head(self) -> tuple[int, str]:
        return self._last_entry()

    def observation_ids(self, count: int) -> list[int]:
        start = self._one("SELECT coalesce(max(id), 0) + 1 FROM observation")[0]
        return list(range(start, start + count))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        marks = ", ".join("?" * len(columns))
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608


def writer(engine: Engine) -> Writer:
    """The bulk writer for ``engine``'s database."""
    return PostgresWriter(engine) if engine.dialect.name == "postgresql" else SqliteWriter(engine)
