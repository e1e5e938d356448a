"""What the re-issue tests share: an issuer service on the test database, people to enrol,
the run's credentials, and a way to freeze every issuing transaction mid-way (PostgreSQL)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from sqlalchemy import create_engine, func, select

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.store.audit import AUDIT_LOCK_KEY
from issuer.store.db import CredentialRecord, ReissueRun

NOW = 1_790_000_000
DAY = 86_400
CLI = str(Path(sys.executable).with_name("healthcode-issuer"))


@contextmanager
def issuer_service(folder: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
                   ) -> Iterator[IssuerService]:
    """An issuer service with a new home in ``folder`` on the test database."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(folder / "home")
    init_home(home, now=NOW)
    opened = IssuerService.open(home, database_url=db_url)
    try:
        yield opened
    finally:
        opened.close()


def enrol(service: IssuerService, count: int) -> list[str]:
    people = []
    for n in range(count):
        person = service.create_person(actor="test", name=f"Person {n}",
                                       id_number=f"ID{n:010d}", phone="+86 137 0000 0001",
                                       organisation=f"Org {n % 3}", now=NOW)
        people.append(person)
    return people


def run_credentials(service: IssuerService, run_id: int) -> Counter[str]:
    with service.store.reading() as session:
        return Counter(session.scalars(select(CredentialRecord.person_id)
                                       .where(CredentialRecord.run_id == run_id)))


def run_status(service: IssuerService, run_id: int) -> str:
    with service.store.reading() as session:
        return session.get(ReissueRun, run_id).status


def cli_env(db_url: str) -> dict[str, str]:
    """The environment a CLI process needs for the test's home and database."""
    return {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE, "HEALTHCODE_DATABASE_URL": db_url}


@contextmanager
def writers_blocked(db_url: str) -> Iterator[None]:
    """On PostgreSQL, hold the audit advisory lock that every issuing transaction takes at its
    first audit append: the re-issuer then waits inside its next batch, mid-transaction, and
    is killed there. (SQLite's busy handler polls with back-off, so a test waiting for the
    write lock loses every race to a writer that takes it back at once: there the kill
    simply lands right after the first batch is reported.)"""
    if db_url.startswith("sqlite"):
        yield
        return
    lock = AuditLock(db_url)
    try:
        lock.take()
        yield
    finally:
        lock.release()
        lock.close()


class AuditLock:
    """The audit advisory lock, taken and released from a connection of the test's own
    (PostgreSQL). Every issuing transaction takes it at its first audit append, so while the
    test holds it each worker waits inside a slice, mid-transaction; PostgreSQL queues lock
    requests in order, so a request made now is served after the workers already waiting."""

    def __init__(self, db_url: str):
        self.engine = create_engine(db_url)
        self.connection = self.engine.connect()
        self.pid = self.connection.scalar(select(func.pg_backend_pid()))
        self.connection.commit()

    def take(self) -> None:
        self.connection.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))

    def release(self) -> None:
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()
