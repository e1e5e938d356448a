"""A re-issue run's batches: slices of everyone in enrolment order, claimed by workers.

A run is planned once: one pass over the ``person (created_at, id)`` index cuts it into
slices of ``size`` people (``reissue_batch`` rows). A worker then takes the first open slice
that no one else holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), issues it and marks it done
*in the same transaction*; the row lock is the claim. So:

- a slice is done exactly when its credentials are stored: never half, never twice (and the
  database's UNIQUE(run_id, person_id) would refuse a second credential anyway);
- a worker that dies (killed, crashed, its machine cut off) loses its transaction: the server
  rolls it back and the slice is open again at once. One that hangs with its transaction open
  holds the slice until the server ends its session: workers set PostgreSQL's
  ``idle_in_transaction_session_timeout`` to the lease (``DEFAULT_LEASE``), after which the
  slice is taken over by another worker;
- every query walks an index: the slices are ranges of the (created_at, id) index, the open
  slices a partial index, so each batch costs the same at 10 thousand people or 12 million.

SQLite has one writer at a time (``BEGIN IMMEDIATE``): there a single worker walks the slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from .db import CredentialRecord, Person, ReissueBatch

#: Seconds a worker's open transaction may sit waiting on the worker before PostgreSQL ends
#: its session and its slice goes to another worker. A batch's work between two statements
#: (scoring and signing a few hundred people) takes well under a second.
DEFAULT_LEASE = 60


@dataclass(frozen=True)
class Slice:
    """A claimed batch: which run, which slice, and its bounds in (created_at, id) order."""

    run_id: int
    seq: int
    first: tuple[int, str]
    next: tuple[int, str] | None


@dataclass(frozen=True)
class Progress:
    """Slices done and in all; people issued so far and planned."""

    done: int
    batches: int
    issued: int
    planned: int


def planned(session: Session, run_id: int) -> bool:
    """Whether the run has been cut into slices."""
    return session.scalar(select(ReissueBatch.seq).where(ReissueBatch.run_id == run_id)
                          .limit(1)) is not None


def plan(session: Session, run_id: int, size: int) -> int:
    """Cut everyone enrolled now into slices of ``size`` (one pass over the enrolment-order
    index) and return how many. The caller holds the run (a fresh row, or locked)."""
    if size < 1:
        raise ValueError("the batch size must be at least 1")
    order = func.row_number().over(order_by=(Person.created_at, Person.id)).label("n")
    ranked = select(Person.created_at, Person.id, order).subquery()
    starts = list(session.execute(select(ranked.c.created_at, ranked.c.id)
                                  .where((ranked.c.n - 1) % size == 0)
                                  .order_by(ranked.c.created_at, ranked.c.id)))
    total = session.scalar(select(func.count()).select_from(Person)) or 0
    rows = []
    for seq, (created_at, person_id) in enumerate(starts, 1):
        following = starts[seq] if seq < len(starts) else None
        rows.append({"run_id": run_id, "seq": seq, "first_created_at": created_at,
                     "first_person_id": person_id,
                     "next_created_at": following[0] if following else None,
                     "next_person_id": following[1] if following else None,
                     "size": size if following else total - size * (seq - 1)})
    if rows:
        session.execute(insert(ReissueBatch), rows)
    return len(rows)


def claim(session: Session, run_id: int) -> Slice | None:
    """In ``session``'s transaction, lock the first open slice nobody else holds and return
    it; None when every open slice is held by another worker (or none is left)."""
    row = session.execute(
        select(ReissueBatch.seq, ReissueBatch.first_created_at, ReissueBatch.first_person_id,
               ReissueBatch.next_created_at, ReissueBatch.next_person_id)
        .where(ReissueBatch.run_id == run_id, ReissueBatch.done_at.is_(None))
        .order_by(ReissueBatch.seq).limit(1).with_for_update(skip_locked=True)).first()
    if row is None:
        return None
    seq, first_at, first_id, next_at, next_id = row
    return Slice(run_id, seq, (first_at, first_id),
                 None if next_at is None or next_id is None else (next_at, next_id))


def people(session: Session, batch: Slice) -> list[str]:
    """The people of the slice, in enrolment order, who hold no credential from its run (all
    of them, unless the run was begun before it was planned in slices); never an erased one."""
    key = tuple_(Person.created_at, Person.id)
    issued = exists().where(CredentialRecord.run_id == batch.run_id,
                            CredentialRecord.person_id == Person.id)
    within = key >= tuple_(*batch.first)
    if batch.next is not None:
        within = and_(within, key < tuple_(*batch.next))
    return list(session.scalars(select(Person.id).where(within, ~issued,
                                                        Person.erased_at.is_(None))
                                .order_by(Person.created_at, Person.id)))


def complete(session: Session, batch: Slice, *, issued: int, worker: str, now: int) -> None:
    """Mark the slice done, in the transaction that stored its credentials."""
    session.execute(update(ReissueBatch)
                    .where(ReissueBatch.run_id == batch.run_id, ReissueBatch.seq == batch.seq)
                    .values(done_at=now, done_by=worker, issued=issued))


def open_slices(session: Session, run_id: int) -> int:
    """How many slices of the run are not done (held by a worker or waiting)."""
    return session.scalar(select(func.count()).select_from(ReissueBatch)
                          .where(ReissueBatch.run_id == run_id,
                                 ReissueBatch.done_at.is_(None))) or 0


def progress(session: Session, run_id: int) -> Progress:
    """Where the run's slices stand (one aggregate over the run's batch rows)."""
    issued, size = (func.coalesce(func.sum(column), 0)
                    for column in (ReissueBatch.issued, ReissueBatch.size))
    row = session.execute(select(func.count(ReissueBatch.done_at), func.count(), issued, size)
                          .where(ReissueBatch.run_id == run_id)).one()
    return Progress(*(int(value) for value in row))


def workers_of(session: Session, run_id: int) -> Sequence[str]:
    """The workers that have done slices of the run, busiest first."""
    count = func.count().label("n")
    return list(session.scalars(
        select(ReissueBatch.done_by).where(ReissueBatch.run_id == run_id,
                                           ReissueBatch.done_by.is_not(None))
        .group_by(ReissueBatch.done_by).order_by(count.desc(), ReissueBatch.done_by)))

