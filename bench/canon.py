"""The store's canonical JSON, MACs and audit hashes, written out by hand for the three shapes
that seeding (bench/seed.py) writes by the million: ``json.dumps`` took most of its time.

Each function gives exactly what the store's own function gives (sorted keys, no spaces;
``ensure_ascii`` as there), and with ``check=True`` computes that too and raises
:class:`Drift` if they differ: the seeder checks the first row of every transaction, so a
change to the store's format stops it instead of writing rows that ``audit verify`` rejects.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from json.encoder import (  # type: ignore[attr-defined]
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any

from issuer.store import pii
from issuer.store.audit import canonical_json
from issuer.store.audit import entry_hash as store_entry_hash
from issuer.store.audit_tables import row_mac


class Drift(RuntimeError):
    """The hand-written form no longer matches the store's."""

    def __init__(self, fast: str, store: str) -> None:
        super().__init__(f"bench/canon.py gives {fast!r} where the store gives {store!r}: "
                         "bring it up to date with issuer/store")


def _same(fast: str, store: str) -> str:
    if fast != store:
        raise Drift(fast, store)
    return fast


_text = lru_cache(maxsize=4096)(encode_basestring)  # JSON string, UTF-8 kept
_ascii = lru_cache(maxsize=65_536)(encode_basestring_ascii)  # JSON string, \\u escapes


class ObservationMac:
    """``row_mac(keys, "observation", row)`` of observation rows (dicts of their columns)."""

    def __init__(self, keys: pii.DataKeys) -> None:
        self._keys = keys
        # The store has no call that MACs bytes already serialised: start from its key and
        # domain, and check against row_mac itself (check=True).
        self._base = hmac.new(keys._mac_key, pii._RECORD_MAC_DOMAIN, hashlib.sha256)

    def __call__(self, row: dict[str, Any], check: bool = False) -> str:
        text = (f'{{"id":{row["id"]},"kind":{_ascii(row["kind"])},'
                f'"observed_at":{row["observed_at"]},'
                f'"person_id":{encode_basestring_ascii(row["person_id"])},'
                f'"recorded_at":{row["recorded_at"]},"recorded_by":{_ascii(row["recorded_by"])},'
                f'"source":{_ascii(row["source"])},"table":"observation",'
                f'"value_json":{_ascii(row["value_json"])}}}')
        mac = self._base.copy()
        mac.update(text.encode())
        fast = mac.hexdigest()[:pii.RECORD_MAC_HEX]
        return _same(fast, row_mac(self._keys, "observation", row)) if check else fast


def observation_details(row: dict[str, Any], mac: str, check: bool = False) -> str:
    """The ``details_json`` of ``add_observation``'s audit entry for ``row``."""
    fast = (f'{{"kind":{_text(row["kind"])},"mac":"{mac}","observation":{row["id"]},'
            f'"observed_at":{row["observed_at"]},"source":{_text(row["source"])}}}')
    if not check:
        return fast
    return _same(fast, canonical_json({"observation": row["id"], "kind": row["kind"],
                                       "source": row["source"],
                                       "observed_at": row["observed_at"], "mac": mac}))


def entry_hash(seq: int, at: int, actor: str, person_id: str, action: str, reason: str,
               details_json: str, prev_hash: str, check: bool = False) -> str:
    """:func:`issuer.store.audit.entry_hash` of an entry about a person."""
    text = (f'{{"action":{_text(action)},"actor":{_text(actor)},"at":{at},'
            f'"details_json":{encode_basestring(details_json)},'
            f'"person_id":{encode_basestring(person_id)},"prev_hash":"{prev_hash}",'
            f'"reason":{_text(reason)},"seq":{seq}}}')
    fast = hashlib.sha256(text.encode()).hexdigest()
    if not check:
        return fast
    return _same(fast, store_entry_hash(seq=seq, at=at, actor=actor, person_id=person_id,
                                        action=action, reason=reason,
                                        details_json=details_json, prev_hash=prev_hash))
