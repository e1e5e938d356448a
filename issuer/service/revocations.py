"""This issuer's signed revocation list: the unexpired credentials it has revoked.

The list (format: :mod:`verifier.revocation`) is signed by the current signing key, which the
trust list vouches for, and written to ``HOME/keys`` beside the trust list, where
``healthcode-verifier`` finds it, and served at ``/trust/revocations``.

The list is a function of the stored state and the hour, nothing else: its time ``iat`` is
the latest revocation, or the start of the current hour, or the start of the signing key's
window, whichever is latest, and its ``seq`` is the number of credentials ever revoked. So
every ``serve`` process on one database signs the very same bytes for the same state
(deterministic signatures), a revocation changes the list on the next request to any of them,
and lists only move forward in (``iat``, key, ``seq``) order, which is how verifiers order them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from verifier.revocation import encode_payload, file_name

from ..keys.home import Home, write_atomic
from ..keys.keystore import DAY, IssuerConfig
from ..keys.signing import PrivateKey, sign_cose
from ..store import Store

#: How long a revocation list is valid: a verifier that has not synced for longer warns.
REVOCATION_LIST_VALIDITY = 2 * DAY
#: The list is re-dated at the start of every such period, even when nothing was revoked.
REVOCATION_REFRESH = 3600


def revocation_path(home: Home, iss: str) -> Path:
    return home.keys / file_name(iss)


def list_time(stamp: tuple[int, int], config: IssuerConfig, now: int) -> tuple[int, int]:
    """Return ``(iat, seq)`` of the list for the stored state ``stamp`` (revocations so far,
    latest revocation time, from :meth:`Store.revocation_stamp`) at ``now``."""
    count, latest = stamp
    key_start = config.key_record(config.current)["nbf"]
    return max(min(latest, now), now - now % REVOCATION_REFRESH, min(key_start, now)), count


def publish_revocations(home: Home, store: Store, key: PrivateKey, config: IssuerConfig,
                        now: int | None = None) -> bytes:
    """Sign the current revocation list, write it to the home atomically and return it."""
    now = int(time.time()) if now is None else now
    stamp = store.revocation_stamp()
    while True:
        iat, seq = list_time(stamp, config, now)
        # Listed: revoked and unexpired at iat (not now), so the content follows from the state.
        ctis = [bytes.fromhex(cti) for cti in store.revoked_unexpired(iat)]
        # Revocations only add (the count only grows): an unchanged stamp after the read means
        # the content is that of the state the stamp names, even with other writers.
        stamp, before = store.revocation_stamp(), stamp
        if stamp == before:
            break
    payload = encode_payload(iss=config.iss, seq=seq, iat=iat,
                             exp=iat + REVOCATION_LIST_VALIDITY, ctis=ctis)
    signed = sign_cose(key, payload)
    write_atomic(revocation_path(home, config.iss), signed, 0o644)
    return signed


class RevocationPublisher:
    """The list the service serves, re-signed when the stored revocations, the signing key or
    the hour change: cached only while none of them has."""

    def __init__(self, home: Home, store: Store) -> None:
        self.home, self.store = home, store
        self._state: tuple[object, ...] | None = None
        self._signed = b""
        self._lock = threading.Lock()

    def current(self, key: PrivateKey, config: IssuerConfig, now: int | None = None) -> bytes:
        now = int(time.time()) if now is None else now
        state = (list_time(self.store.revocation_stamp(), config, now), config.current)
        with self._lock:
            if state != self._state:
                self._signed = publish_revocations(self.home, self.store, key, config, now)
                self._state = state
            return self._signed
