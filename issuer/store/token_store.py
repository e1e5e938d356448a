"""The repository's API-token operations (:class:`issuer.store.Store` inherits them): each
write in one transaction with its audit entry; the records themselves: :mod:`.tokens`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import audit, tokens
from .base import StoreBase, clock
from .db import ApiToken


class TokenStore(StoreBase):
    """Create, authenticate, list and revoke API tokens."""

    def create_token(self, scopes: Iterable[str] | str, label: str, *, actor: str,
                     reason: str = "token created", now: int | None = None,
                     expires_at: int | None = None) -> tuple[str, str]:
        """Create an API token; return ``(token_id, secret)``. The secret is shown once.
        ``expires_at`` (epoch seconds, after ``now``): refused from then on; None: never."""
        now = clock(now)
        with self.writing() as session:
            token_id, secret = tokens.create_token(session, scopes, label, now, expires_at)
            granted = session.get(ApiToken, token_id).scopes
            audit.append(session, actor, "token.create", reason, None,
                         {"token": token_id, "scopes": granted, "label": label,
                          "expires_at": expires_at}, now)
        return token_id, secret

    def authenticate(self, presented: str, now: int | None = None) -> tokens.Token | None:
        """Return the live token ``presented`` proves, or None. The first use of a token
        after its expiry retires it (``revoked_at`` = its expiry) with a ``token.expire``
        audit entry: who held it tried to use it, and it was refused."""
        now = clock(now)
        try:
            with self.reading() as session:
                return tokens.authenticate(session, presented, now)
        except tokens.TokenExpired as expired:
            with self.writing() as session:
                if tokens.retire_expired(session, expired.token_id):
                    audit.append(session, "system", "token.expire", "refused after its expiry",
                                 None, {"token": expired.token_id,
                                        "expires_at": expired.expires_at}, now)
            return None

    def revoke_token(self, token_id: str, *, actor: str, reason: str = "token revoked",
                     now: int | None = None) -> None:
        """Revoke a token. Raises :class:`NotFound`."""
        now = clock(now)
        with self.writing() as session:
            tokens.revoke(session, token_id, now)
            audit.append(session, actor, "token.revoke", reason, None, {"token": token_id}, now)

    def list_tokens(self) -> list[dict[str, Any]]:
        """Return every token's id, label, scopes and times (never a secret)."""
        with self.reading() as session:
            return tokens.list_tokens(session)
