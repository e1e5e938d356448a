"""Bearer tokens for the authority API. Scopes nest: admin > write, review > read."""

from __future__ import annotations

from apiflask import HTTPTokenAuth
from flask import current_app

auth = HTTPTokenAuth(scheme="Bearer",
                     description="an API token from `healthcode-issuer token create`")


@auth.verify_token
def _verify(presented: str):
    """Return the token record for a presented bearer token, or None (-> 401)."""
    if not presented:
        return None
    return current_app.extensions["healthcode"].store.authenticate(presented)


@auth.get_user_roles
def _roles(token) -> list[str]:
    return sorted(token.scopes)
