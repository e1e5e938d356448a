"""Throttles for the holder's pages, on the ``limits`` library (the core of Flask-Limiter: its
rate strings, keys and storages): fixed windows counted per client address and overall for
sign-in (codes asked for, codes guessed), and per person for declarations.

The counters must hold across every server process on one database, so by default they live
in the database (:class:`StoreStorage`, a ``limits`` storage over
:mod:`issuer.store.throttle`); ``HEALTHCODE_RATELIMIT_STORAGE`` may name any ``limits``
storage instead, e.g. ``redis://host:6379`` (with the ``redis`` package installed), or
``memory://`` for one process. A request over a limit gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Response, current_app, request
from flask_babel import ngettext
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from sqlalchemy.exc import SQLAlchemyError

from ..store import Store

#: Per client address: codes asked for, codes guessed; overall, both together. A phone number
#: has its own quota besides (5 codes an hour, 5 guesses a code: issuer/store/holders.py).
DEFAULT_LIMITS = {
    "SIGNIN_CODE_LIMIT": "5 per minute; 20 per hour",
    "SIGNIN_GUESS_LIMIT": "10 per minute; 60 per hour",
    "SIGNIN_TOTAL_LIMIT": "1000 per minute",
    "DECLARE_LIMIT": "8 per day",
}


class StoreStorage(Storage):
    """A ``limits`` storage whose counters are rows of the issuer's database, so that
    several server processes share them. Fixed windows only."""

    STORAGE_SCHEME = None  # built from a store, never from a URL

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.store.count_hits([(key, math.ceil(expiry))], amount)[0][0]

    def get(self, key: str) -> int:
        return self.store.hits(key)[0]

    def get_expiry(self, key: str) -> float:
        return float(self.store.hits(key)[1])

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return self.store.clear_hits()

    def clear(self, key: str) -> None:
        self.store.clear_hits(key)


class Throttled(Exception):
    """Over a limit; ``retry_after`` is the number of seconds until the window ends."""

    def __init__(self, name: str, retry_after: int) -> None:
        super().__init__(f"too many requests ({name}): try again in {retry_after} s")
        self.name = name
        self.retry_after = retry_after

    @property
    def wait(self) -> str:
        """How long to wait, in the reader's words ("3 minutes", "2 hours"; 3 分钟): rounded
        up, in hours from two hours on. Call it while answering a request."""
        minutes = max(1, -(-self.retry_after // 60))
        if minutes < 120:
            return ngettext("%(num)s minute", "%(num)s minutes", minutes)
        hours = -(-minutes // 60)
        return ngettext("%(num)s hour", "%(num)s hours", hours)


def throttle_request(*checks: tuple[str, str]) -> None:
    """Count this request against the app's limits of each ``(name, who)``; raises
    :class:`Throttled`."""
    current_app.extensions["healthcode.throttle"].hit(*checks)


def throttle_signin(kind: str) -> None:
    """A sign-in request counts per client address and, with all others, overall."""
    throttle_request((kind, request.remote_addr or "unknown"), ("signin_total", "all"))


def too_many(page: str, exc: Throttled) -> Response:
    """``page`` as a 429 answer with ``Retry-After``."""
    response = current_app.make_response((page, 429))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@dataclass
class Throttle:
    """Named limits (``limits`` rate strings, ``;``-separated), fixed windows over one
    storage."""

    storage: Storage
    rules: dict[str, list[RateLimitItem]]

    @staticmethod
    def parse(rules: dict[str, str]) -> dict[str, list[RateLimitItem]]:
        """The named rate strings parsed (an empty one: no limit); raises ``ValueError``."""
        return {name: parse_many(text) for name, text in rules.items() if text}

    @classmethod
    def build(cls, store: Store, storage_url: str | None,
              rules: dict[str, list[RateLimitItem]]) -> Throttle:
        """Counters in ``store``, or in the ``limits`` storage ``storage_url`` names."""
        storage = StoreStorage(store) if not storage_url else storage_from_string(storage_url)
        return cls(storage, rules)

    def hit(self, *checks: tuple[str, str]) -> None:
        """Count one request against every limit of each ``(name, who)``; raises
        :class:`Throttled` when any of them is exceeded. In the database every count of the
        request is one transaction."""
        keyed = [(name, item, item.key_for(name, who)) for name, who in checks
                 for item in self.rules.get(name, ())]
        if not keyed:
            return
        if isinstance(self.storage, StoreStorage):
            counts = self.storage.store.count_hits([(key, item.get_expiry())
                                                    for _, item, key in keyed])
        else:
            counts = [(self.storage.incr(key, item.get_expiry()), self.storage.get_expiry(key))
                      for _, item, key in keyed]
        for (name, item, _), (hits, reset) in zip(keyed, counts, strict=True):
            if hits > item.amount:
                raise Throttled(name, max(1, math.ceil(reset - time.time())))
