"""Fixed-window rate-limit counters in the database, so that every server process on one
database counts against the same limits (:mod:`issuer.web.throttle` puts the ``limits``
library's strategies on top of them; a Redis server can take their place).

A counter is one row: ``key``, ``hits`` in the current window, and when the window ends.
:func:`incr` is one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on SQLite and
PostgreSQL alike: concurrent hits from several processes never get lost, and a window that has
ended starts again at the next hit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base

MAX_KEY_LENGTH = 200


class RateCounter(Base):
    """Hits counted against one rate limit (its key names the limit and who is counted)."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


def incr(session: Session, key: str, expiry: int, amount: int, now: int) -> tuple[int, int]:
    """Count ``amount`` hits against ``key`` in its window (a new window of ``expiry`` seconds
    if none is running); return ``(hits in the window, when it ends)``."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(RateCounter).values(key=key[:MAX_KEY_LENGTH], hits=amount,
                                                expires_at=now + expiry)
    ended = RateCounter.expires_at <= now
    upsert = insert.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={"hits": case((ended, amount), else_=RateCounter.hits + amount),
              "expires_at": case((ended, now + expiry), else_=RateCounter.expires_at)},
    ).returning(RateCounter.hits, RateCounter.expires_at)
    hits, expires_at = session.execute(upsert).one()
    return int(hits), int(expires_at)


def get(session: Session, key: str, now: int) -> tuple[int, int]:
    """``(hits, window end)`` of ``key``'s running window; ``(0, now)`` when none runs."""
    row = session.execute(select(RateCounter.hits, RateCounter.expires_at)
                          .where(RateCounter.key == key[:MAX_KEY_LENGTH])).first()
    if row is None or row.expires_at <= now:
        return 0, now
    return int(row.hits), int(row.expires_at)


def clear(session: Session, key: str | None = None) -> int:
    """Forget ``key``'s counter (every counter when None); return how many rows went."""
    query = delete(RateCounter)
    if key is not None:
        query = query.where(RateCounter.key == key[:MAX_KEY_LENGTH])
    return int(session.execute(query).rowcount)


def purge(session: Session, now: int) -> int:
    """Delete counters whose window has ended; return how many."""
    return int(session.execute(delete(RateCounter).where(RateCounter.expires_at <= now))
               .rowcount)
