"""The issuer's database: SQLAlchemy models, engine creation and the storage exceptions.

Personal data lives here, encrypted field by field (issuer/store/pii.py); a person is known
elsewhere only by a random pseudonymous id. Times are integer epoch seconds (BIGINT: no 2038
overflow). The schema is made only by the Alembic migrations in ``issuer/store/migrations``;
``tests/test_migrations.py`` checks that the two agree.

SQLite: foreign keys on, WAL journal, and every transaction but explicitly read-only ones
starts with ``BEGIN IMMEDIATE``, so writers queue for the lock instead of failing half-way when
a read turns into a write (the audit chain depends on this; see issuer/store/audit.py).
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..keys.home import Home

DATABASE_URL_ENV = "HEALTHCODE_DATABASE_URL"
#: Execution option: a read-only SQLite transaction (``BEGIN DEFERRED``, never blocks writers).
READ_ONLY = "healthcode_read_only"
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for the lock before giving up
_WAL_ATTEMPTS, _WAL_RETRY_DELAY = 50, 0.01
PERSON_ID_LENGTH = 14  # "p-" + token_urlsafe(9): 72 random bits
SHA256_HEX = 64
COLOURS = ("green", "yellow", "red")  # verifier.labels.Colour values
RUN_STATUSES = ("running", "done", "failed")
#: Ids of tables growing by millions a day: 64-bit on PostgreSQL (2^31 runs out in months);
#: SQLite's INTEGER PRIMARY KEY is 64-bit already (and must stay INTEGER: the rowid).
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class StoreError(Exception):
    """Root of the storage errors."""


class NotFound(StoreError):
    """No such person, credential, token or run (an API maps this to 404)."""


class Conflict(StoreError):
    """The write would duplicate a unique fact (409); ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# Deterministic constraint names: the same on SQLite and PostgreSQL, so later migrations can
# name what they alter (SQLite's batch mode needs names to find constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Person(Base):
    """A person. Name, id number and phone are AES-GCM ciphertexts bound to column and id."""

    __tablename__ = "person"
    #: Enrolment order, the order a re-issue run walks (keyset pages over this index).
    __table_args__ = (Index(None, "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    #: Keyed HMAC-SHA256 of the normalised id number: find a person without decrypting anyone.
    id_number_mac: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    #: Keyed HMAC-SHA256 of the normalised phone number, for sign-in by one-time code. Not
    #: unique: a family may share one phone.
    phone_mac: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)


class Observation(Base):
    """One input to the scoring policy: a test result, contact, symptom, travel, …"""

    __tablename__ = "observation"
    __table_args__ = (Index(None, "person_id", "observed_at"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(32))
    value_json: Mapped[str] = mapped_column(Text)
    observed_at: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(Text)


class ReissueRun(Base):
    """A re-issue of everyone, walked in slices (:class:`ReissueBatch`) by any workers."""

    __tablename__ = "reissue_run"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status"),
        # At most one running run: two operators starting at once get the same run.
        Index("uq_reissue_run_running", "status", unique=True,
              sqlite_where=sql_text("status = 'running'"),
              postgresql_where=sql_text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[int] = mapped_column(BigInteger)
    started_by: Mapped[str] = mapped_column(Text)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    # Pinned when the run opens, so every worker issues alike (NULL: opened before 0007).
    policy_id: Mapped[str | None] = mapped_column(Text)
    policy_digest: Mapped[str | None] = mapped_column(String(SHA256_HEX))  # hex
    ttl: Mapped[int | None] = mapped_column(Integer)
    batch_size: Mapped[int | None] = mapped_column(Integer)


class ReissueBatch(Base):
    """One slice of a run: people from ``first`` (inclusive) to ``next`` (exclusive; NULL: to
    the end) in (created_at, id) order; locked, issued and marked done in one transaction."""

    __tablename__ = "reissue_batch"
    __table_args__ = (Index("ix_reissue_batch_open", "run_id", "seq",  # a run's open slices
                            sqlite_where=sql_text("done_at IS NULL"),
                            postgresql_where=sql_text("done_at IS NULL")),)

    run_id: Mapped[int] = mapped_column(ForeignKey("reissue_run.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_created_at: Mapped[int] = mapped_column(BigInteger)
    first_person_id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH))
    next_created_at: Mapped[int | None] = mapped_column(BigInteger)
    next_person_id: Mapped[str | None] = mapped_column(String(PERSON_ID_LENGTH))
    size: Mapped[int] = mapped_column(Integer)  # people in it when planned
    done_at: Mapped[int | None] = mapped_column(BigInteger)
    done_by: Mapped[str | None] = mapped_column(Text)  # host:pid
    issued: Mapped[int | None] = mapped_column(Integer)


class CredentialRecord(Base):
    """An issued credential: what was signed, for whom, under which policy, by whom."""

    __tablename__ = "credential"
    __table_args__ = (
        # One credential per person per re-issue run (NULL run ids, manual issues, are distinct).
        UniqueConstraint("run_id", "person_id"),
        Index(None, "person_id", "iat"),
        Index(None, "revoked_at", "exp"),
        CheckConstraint(f"colour IN {COLOURS!r}", name="colour"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        CheckConstraint("exp > iat", name="lifetime"),
    )

    cti: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    colour: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    policy_id: Mapped[str] = mapped_column(Text)
    policy_digest: Mapped[str] = mapped_column(String(SHA256_HEX))  # hex
    iat: Mapped[int] = mapped_column(BigInteger)
    exp: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)  # the QR text: nothing personal in it
    issued_by: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("reissue_run.id"))
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    #: The phone whose key the credential's ``cnf`` names (a live code), if any.
    device_id: Mapped[str | None] = mapped_column(ForeignKey("device.id"))
    #: ``live`` (bound to a phone), ``card`` (printed), or NULL (issued through the API/CLI).
    purpose: Mapped[str | None] = mapped_column(String(8))


class Device(Base):
    """A holder's phone: the public half of its non-extractable key (SEC1, compressed)."""

    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revocation_reason: Mapped[str | None] = mapped_column(Text)


class Enrolment(Base):
    """A one-time enrolment link; only a SHA-256 of its token is kept."""

    __tablename__ = "enrolment"

    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(Text)
    used_at: Mapped[int | None] = mapped_column(BigInteger)


class OneTimeCode(Base):
    """A sign-in code sent to a phone number; only keyed hashes of both are kept."""

    __tablename__ = "otp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_mac: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    code_hash: Mapped[str] = mapped_column(String(SHA256_HEX))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log (issuer/store/audit.py).

    ``person_id`` is deliberately not a foreign key: the log must outlive erasure of the data
    it speaks about. ``seq`` is assigned by :func:`issuer.store.audit.append` (gapless), not by a
    database sequence, which would leave gaps on rollback that look like deleted entries.
    """

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=False)
    at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    person_id: Mapped[str | None] = mapped_column(String(PERSON_ID_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    details_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(SHA256_HEX))
    hash: Mapped[str] = mapped_column(String(SHA256_HEX))


class ApiToken(Base):
    """A bearer token for the authority API; only a SHA-256 of its secret is kept."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(SHA256_HEX))
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, as granted
    label: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    #: Refused from this time on (None: never); migration 0005.
    expires_at: Mapped[int | None] = mapped_column(BigInteger)


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
