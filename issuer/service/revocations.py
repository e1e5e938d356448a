"""This issuer's signed revocation list: the unexpired credentials it has revoked.

The list (format: :mod:`verifier.revocation`) is signed by the current signing key, which the
trust list vouches for, and written to ``HOME/keys`` beside the trust list, where
``healthcode-verifier`` finds it, and served at ``/trust/revocations``. Its sequence number is
the publication time, kept strictly increasing, so verifiers can refuse an older list.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from verifier.errors import RevocationListError, TrustListError
from verifier.revocation import RevocationList, encode_payload, file_name
from verifier.trust import TrustList

from ..keys.home import Home, write_atomic
from ..keys.keystore import DAY, IssuerConfig
from ..keys.signing import PrivateKey, sign_cose
from ..store import Store

#: How long a revocation list is valid: a verifier that has not synced for longer warns.
REVOCATION_LIST_VALIDITY = 2 * DAY
#: The service re-signs the list at least this often, even when nothing was revoked.
REVOCATION_REFRESH = 3600


def revocation_path(home: Home, iss: str) -> Path:
    return home.keys / file_name(iss)


def _previous(home: Home, iss: str) -> RevocationList | None:
    try:
        trust = TrustList.load(home.trust_list, home.anchor_public, now=0)
        return RevocationList.load(revocation_path(home, iss), trust)
    except (OSError, TrustListError, RevocationListError):
        return None


def publish_revocations(home: Home, store: Store, key: PrivateKey, config: IssuerConfig,
                        now: int | None = None) -> bytes:
    """Sign the current revocation list, write it to the home atomically and return it."""
    now = int(time.time()) if now is None else now
    previous = _previous(home, config.iss)
    seq = max(now, previous.sequence + 1) if previous is not None else now
    ctis = [bytes.fromhex(cti) for cti in store.revoked_unexpired(now)]
    payload = encode_payload(iss=config.iss, seq=seq, iat=now,
                             exp=now + REVOCATION_LIST_VALIDITY, ctis=ctis)
    signed = sign_cose(key, payload)
    write_atomic(revocation_path(home, config.iss), signed, 0o644)
    return signed


class RevocationPublisher:
    """The list the service serves: re-signed when a credential is revoked, when the signing
    key changes, and at least every :data:`REVOCATION_REFRESH` seconds."""

    def __init__(self, home: Home, store: Store) -> None:
        self.home, self.store = home, store
        self._state: tuple[object, ...] | None = None
        self._signed = b""
        self._at = 0
        self._lock = threading.Lock()

    def current(self, key: PrivateKey, config: IssuerConfig, now: int | None = None) -> bytes:
        now = int(time.time()) if now is None else now
        state = (self.store.revocation_stamp(), config.current)
        with self._lock:
            if state != self._state or now - self._at >= REVOCATION_REFRESH:
                self._signed = publish_revocations(self.home, self.store, key, config, now)
                self._state, self._at = state, now
            return self._signed
