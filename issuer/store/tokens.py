"""Bearer tokens for the authority API: ``hct_<id>_<secret>``, shown once, kept as a hash.

The secret is 256 random bits, so a single SHA-256 is enough to store it (there is nothing to
guess; a slow password hash would only slow every request). Scopes nest: ``admin`` implies
``write`` and ``review``, each of which implies ``read``: ``write`` records and corrects
people's data, ``review`` decides appeals (a reviewer need not enrol anyone, nor a clerk judge
appeals against their own office's records). A token may carry an expiry (``expires_at``):
from then on it is refused like a revoked one (:class:`TokenExpired` tells the repository,
which records it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .db import ApiToken, NotFound, StoreError

TOKEN_PREFIX = "hct"  # noqa: S105 (a format marker, not a secret)
SCOPES = ("read", "write", "review", "admin")
_ID_BYTES = 8
_HEX = frozenset("0123456789abcdef")
_SECRET_BYTES = 32
#: What each granted scope allows.
_IMPLIED = {"read": frozenset({"read"}), "write": frozenset({"read", "write"}),
            "review": frozenset({"read", "review"}), "admin": frozenset(SCOPES)}


class InvalidScope(StoreError, ValueError):
    """A scope that is not read, write, review or admin; or none at all."""


class TokenExpired(StoreError):
    """A presented token proved its secret but is past its expiry (it is refused)."""

    def __init__(self, token_id: str, expires_at: int) -> None:
        super().__init__(f"token {token_id} expired at {expires_at}")
        self.token_id = token_id
        self.expires_at = expires_at


class InsufficientScope(StoreError):
    """The token does not allow what was asked (an API maps this to 403)."""

    def __init__(self, token_id: str, needed: str) -> None:
        super().__init__(f"token {token_id} lacks the {needed!r} scope")
        self.token_id = token_id
        self.needed = needed


@dataclass(frozen=True)
class Token:
    """An authenticated token. ``scopes`` holds every scope it allows (implied ones too)."""

    id: str
    label: str
    granted: frozenset[str]
    scopes: frozenset[str]
    created_at: int
    expires_at: int | None = None

    def allows(self, scope: str) -> bool:
        """Return True if the token may act with ``scope``."""
        return scope in self.scopes

    def require(self, scope: str) -> None:
        """Raise :class:`InsufficientScope` unless the token allows ``scope``."""
        if not self.allows(scope):
            raise InsufficientScope(self.id, scope)


def expand_scopes(granted: Iterable[str]) -> frozenset[str]:
    """Return every scope that ``granted`` allows; raises :class:`InvalidScope`."""
    granted = list(granted)
    unknown = set(granted) - set(SCOPES)
    if unknown or not granted:
        raise InvalidScope(f"scopes must be some of {', '.join(SCOPES)}; got {granted}")
    return frozenset().union(*(_IMPLIED[s] for s in granted))


def hash_secret(secret: str) -> str:
    """Return the stored form of a token secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, scopes: Iterable[str] | str, label: str,
                 now: int | None = None, expires_at: int | None = None) -> tuple[str, str]:
    """Add a token and return ``(token_id, presented_secret)``; only the hash is stored.

    ``scopes`` is a scope or scopes among :data:`SCOPES`; raises :class:`InvalidScope`.
    ``expires_at``: epoch seconds after ``now`` from which it is refused (None: never;
    ``ValueError`` if not after ``now``). The caller commits.
    """
    now = int(time.time()) if now is None else now
    requested = [scopes] if isinstance(scopes, str) else list(scopes)
    expand_scopes(requested)
    if expires_at is not None and expires_at <= now:
        raise ValueError("a token must expire after it is created")
    granted = sorted(set(requested), key=SCOPES.index)
    token_id = secrets.token_hex(_ID_BYTES)  # hex: no "_", so the presented form splits cleanly
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    session.add(ApiToken(id=token_id, secret_hash=hash_secret(secret), scopes=" ".join(granted),
                         label=label, created_at=now, expires_at=expires_at))
    session.flush()
    return token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}"


def parse_presented(presented: str) -> tuple[str, str] | None:
    """Return ``(token_id, secret)`` of a presented token, or None if it is not one."""
    prefix, _, rest = presented.strip().partition("_")
    token_id, _, secret = rest.partition("_")
    # The id must be hex before it reaches a query (a NUL in it made PostgreSQL fail).
    if prefix != TOKEN_PREFIX or len(token_id) != 2 * _ID_BYTES or not _HEX.issuperset(token_id) \
            or not secret:
        return None
    return token_id, secret


def authenticate(session: Session, presented: str, now: int | None = None) -> Token | None:
    """Return the live token that ``presented`` proves, or None (unknown, wrong secret,
    revoked, malformed); raises :class:`TokenExpired` for a token that proves its secret but
    expired at or before ``now``. The comparison takes the same time however much of it
    matches."""
    parsed = parse_presented(presented)
    if parsed is None:
        return None
    token_id, secret = parsed
    row = session.get(ApiToken, token_id)
    if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(secret)):
        return None
    if row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= (int(time.time()) if now is None
                                                         else now):
        raise TokenExpired(row.id, row.expires_at)
    return _token(row)


def retire_expired(session: Session, token_id: str) -> bool:
    """Mark an expired token revoked as of its expiry; True if this call did it (the first
    of concurrent ones: one atomic update). The caller commits."""
    result = session.execute(update(ApiToken)
                             .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None),
                                    ApiToken.expires_at.is_not(None))
                             .values(revoked_at=ApiToken.expires_at))
    return result.rowcount == 1


def revoke(session: Session, token_id: str, now: int | None = None) -> None:
    """Revoke a token from ``now`` on; raises :class:`NotFound`. Revoking twice keeps the
    first time. The caller commits."""
    row = session.get(ApiToken, token_id) if _HEX.issuperset(token_id) else None
    if row is None:
        raise NotFound(f"no token {token_id[:64]!r}")
    if row.revoked_at is None:
        row.revoked_at = int(time.time()) if now is None else now
        session.flush()


def list_tokens(session: Session) -> list[dict]:
    """Return every token's id, label, scopes and times (never a secret or its hash)."""
    rows = session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))
    return [{"id": r.id, "label": r.label, "scopes": r.scopes.split(),
             "created_at": r.created_at, "expires_at": r.expires_at,
             "revoked_at": r.revoked_at} for r in rows]


def _token(row: ApiToken) -> Token:
    granted = frozenset(row.scopes.split())
    return Token(id=row.id, label=row.label, granted=granted, scopes=expand_scopes(granted),
                 created_at=row.created_at, expires_at=row.expires_at)
