"""Keys for codes of other formats that this issuer's trust list vouches for: an authority
decides which EU, SMART and NZ issuers its checkpoints trust, and ``sync`` carries that choice
to every one of them inside the signed list (its ``foreign`` member:
:mod:`verifier.formats.published`).

They are kept in ``HOME/keys/foreign/``, the folder a verifier keeps its own beside the same
trust list (:class:`~verifier.formats.store.ForeignStore`: each file checked by its format's
reader, written atomically), so that ``healthcode-verifier check`` on the issuer's machine sees
what the list carries.
"""

from __future__ import annotations

from typing import Any

from verifier.errors import HealthCodeError
from verifier.formats.published import to_published
from verifier.formats.store import ForeignStore

from .home import Home, HomeError


def foreign_member(home: Home) -> dict[str, Any] | None:
    """The trust list's ``foreign`` member: every key set held in ``HOME/keys/foreign`` (None:
    none). Raises :class:`HomeError` when a stored file no longer reads: no list is signed
    then, rather than one that silently drops an issuer."""
    try:
        member = to_published(ForeignStore.beside(home.trust_list).load())
    except HealthCodeError as exc:
        raise HomeError(f"foreign keys: {exc}") from None
    return member or None
