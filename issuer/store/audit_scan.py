"""Reading the log and the tables a bounded batch at a time, for the audit checks
(:mod:`.audit_since`): by key, by stream, the entries about some people, and a compact set of
the ids seen."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import AuditEntry

#: Keys per ``IN (...)`` lookup.
KEYS = 1000


def entries_about(session: Session, since: int, people: Iterable[str]
                   ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(person_id, action, details)`` of the entries after entry ``since`` about any of
    ``people`` (by the ``person_id`` index)."""
    for person, action, details_json in session.execute(
            select(AuditEntry.person_id, AuditEntry.action, AuditEntry.details_json)
            .where(AuditEntry.person_id.in_(list(people)), AuditEntry.seq > since)):
        try:
            details = json.loads(details_json)
        except ValueError:
            continue
        if isinstance(details, dict):
            yield person, action, details


def stream(session: Session, statement: Any) -> Iterator[Any]:
    yield from session.scalars(statement.execution_options(yield_per=KEYS))


def batches(rows: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == KEYS:
            yield batch
            batch = []
    if batch:
        yield batch


def by_key(session: Session, statement: Any, column: Any, keys: Iterable[Any]) -> Any:
    """The rows of ``statement`` whose ``column`` is one of ``keys``, a batch at a time."""
    wanted = list(keys)
    for at in range(0, len(wanted), KEYS):
        yield from session.execute(statement.where(column.in_(wanted[at:at + KEYS])))


class Ids:
    """A set of the integer ids above ``floor``: a byte per id for the first
    :attr:`DENSE` of them (ids are handed out in order), a set for any beyond."""

    DENSE = 1 << 26

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self._dense = bytearray()
        self._sparse: set[int] = set()

    def update(self, ids: Iterable[int]) -> None:
        for key in ids:
            at = key - self.floor - 1
            if at < 0:
                continue
            if at >= self.DENSE:
                self._sparse.add(key)
                continue
            if at >= len(self._dense):  # grow by doubling, up to DENSE
                grown = min(self.DENSE, max(at + 1, 2 * len(self._dense)))
                self._dense.extend(bytes(grown - len(self._dense)))
            self._dense[at] = 1

    def __contains__(self, key: int) -> bool:
        at = key - self.floor - 1
        if 0 <= at < len(self._dense):
            return self._dense[at] == 1
        return key in self._sparse
