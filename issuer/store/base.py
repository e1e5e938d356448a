"""What every part of the repository stands on: one engine, its write and read sessions, and
the clock.

Every write runs in one transaction (:meth:`StoreBase.writing`) together with its audit entry:
either both are stored or neither is. Reads (:meth:`StoreBase.reading`) on SQLite use
deferred transactions and never wait for writers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import public_log
from .db import Erased, NotFound, Person
from .engine import read_only
from .phones import DEFAULT_REGION
from .pii import DataKeys


def clock(now: int | None) -> int:
    """``now``, or the current time in epoch seconds when it is None."""
    return int(time.time()) if now is None else now


#: Longest reason kept for a void or an erasure (staff and holders type it).
MAX_REASON = 500


def required_reason(reason: object, what: str) -> str:
    """``reason`` stripped and cut to :data:`MAX_REASON`; ``ValueError`` ("``what`` needs a
    reason") if nothing is left."""
    text = reason.strip()[:MAX_REASON] if isinstance(reason, str) else ""
    if not text:
        raise ValueError(f"{what} needs a reason")
    return text


class StoreBase:
    """An engine, its sessions, and the keys that encrypt personal fields."""

    def __init__(self, engine: Engine, data_keys: DataKeys,
                 phone_region: str = DEFAULT_REGION) -> None:
        self.engine = engine
        self.data_keys = data_keys
        #: Where a phone number typed without a country code is read (:mod:`.phones`).
        self.phone_region = phone_region
        # Every write session appends the public log's leaves with its audit entries.
        publisher = public_log.Publisher(data_keys.derived(public_log.KEY_PURPOSE))
        self._writes = sessionmaker(engine, expire_on_commit=False,
                                    info={public_log.INFO_KEY: publisher})
        self._reads = sessionmaker(read_only(engine), expire_on_commit=False)
        # SQLite lets one writer in at a time, and a writer that finds the lock taken polls it
        # with sleeps of up to 100 ms (the busy timeout), so under concurrent requests some
        # writes waited over a second while later ones got in (bench/api.py). This process's
        # writers queue on a lock of their own instead; the busy timeout still covers other
        # processes. Re-entrant, so that a nested write fails on SQLite's lock as before rather
        # than hanging here.
        self._write_lock: AbstractContextManager[object] = (
            threading.RLock() if engine.dialect.name == "sqlite" else nullcontext())

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session in a write transaction: committed on success, rolled back on error."""
        with self._write_lock, self._writes.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session in a read-only transaction."""
        with self._reads.begin() as session:
            yield session

    @staticmethod
    def person_row(session: Session, person_id: str, lock: bool = False, *,
                   erased: bool = False) -> Person:
        """The person's row in ``session`` (``lock``: held until the transaction ends, on
        PostgreSQL; SQLite's write lock serialises writers already); raises
        :class:`NotFound`, or :class:`Erased` for an erased person unless ``erased``.

        In a write transaction on PostgreSQL, the row is read ``FOR KEY SHARE`` even without
        ``lock`` (the lock a foreign key to it takes anyway): a write to the person then waits
        for an erasure in progress (which holds the row ``FOR UPDATE``) and sees it once it is
        committed, instead of storing something about them after they were erased."""
        if lock:
            how: bool | dict[str, bool] | None = True
        else:
            how = {"key_share": True} if _writes(session) else None
        person = session.get(Person, person_id, with_for_update=how)
        if person is None:
            raise NotFound(f"no person {person_id}")
        if person.erased_at is not None and not erased:
            raise Erased(person_id, person.erased_at)
        return person


def _writes(session: Session) -> bool:
    """Whether ``session`` is a PostgreSQL write transaction (row locks: SQLite has none)."""
    bind = session.get_bind()
    return bind.dialect.name == "postgresql" \
        and not bind.get_execution_options().get("postgresql_readonly", False)
