"""The public transparency log's leaves: one for every audit entry that changes what a
person's code says (docs/FORMAT.md, "Transparency log"), appended in the same transaction as
that entry, whose ``details`` record the leaf's index (``log``).

A leaf is canonical JSON with no personal data: when, which action, by which actor (a token id
or a role), a reason *category* (never the typed reason), the public facts of the action
(colour before and after, a score band, the policy and its digest, an observation's kind, how
many codes were revoked, an appeal's decision), and ``who``: a commitment to the person,
``HMAC-SHA256(person's log key, "healthcode/log-leaf/1" 0x00 index)`` (first 16 bytes, hex),
where the person's log key is ``HMAC-SHA256(log MAC key, "healthcode/log-key/1" 0x00 person
id)`` and the log MAC key is derived from the data keys' MAC key.
The holder's phone receives its log key and finds its own leaves; to anyone else two leaves of
one person look unrelated.

The leaves live in ``log_leaf`` (index, the audit entry's seq, the JSON, its RFC 9162 leaf
hash); the tiles and checkpoints served at ``/log/`` are made from them
(:mod:`issuer.service.publiclog`). Whoever runs the database could rewrite this table as well
as the audit log; what they cannot do unseen is change a leaf that a witness, a holder's phone
or a monitor saw under a signed checkpoint (docs/SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from verifier.tlog.merkle import leaf_hash

from .db import LogLeaf

LEAF_VERSION = 1
#: The audit actions that get a public leaf: whatever changes what a person's code says.
PUBLIC_ACTIONS = frozenset({
    "observation.add", "observation.void", "colour.change", "credential.issue",
    "credential.revoke", "credential.revoke_all", "appeal.decide", "person.erase",
    "family.link", "family.unlink"})
#: Revocation reasons that are categories already (anything else typed is ``other``).
_REVOCATION_CATEGORIES = {"superseded", "erased", "superseded by a newer live code",
                          "a new phone was bound", "link ended", "removed by the guardian"}
_KEY_DOMAIN = b"healthcode/log-key/1\x00"
_LEAF_DOMAIN = b"healthcode/log-leaf/1\x00"
COMMITMENT_HEX = 32
#: Score bands a leaf may say (the exact score stays in the audit log).
_BANDS = ((0, 39), (40, 59), (60, 79), (80, 100))
#: What the log's MAC key is derived for (:meth:`issuer.store.pii.DataKeys.derived`).
KEY_PURPOSE = b"public-log"
#: The session ``info`` key under which a :class:`Publisher` is found.
INFO_KEY = "healthcode.public_log"


def log_key(mac_key: bytes, person_id: str) -> bytes:
    """The person's log key (what their phone receives to find their own leaves)."""
    return hmac.new(mac_key, _KEY_DOMAIN + person_id.encode(), hashlib.sha256).digest()


def commitment(key: bytes, index: int) -> str:
    """``who`` of leaf ``index`` of the person whose log key is ``key``."""
    mac = hmac.new(key, _LEAF_DOMAIN + str(index).encode(), hashlib.sha256).hexdigest()
    return mac[:COMMITMENT_HEX]


def band(score: object) -> str | None:
    """The band a score falls in, ``"60-79"`` (None for anything not a score)."""
    if isinstance(score, int) and not isinstance(score, bool):
        for low, high in _BANDS:
            if low <= score <= high:
                return f"{low}-{high}"
    return None


def leaf(index: int, *, at: int, actor: str, action: str, reason: str,
         person_id: str | None, details: Mapping[str, Any], mac_key: bytes) -> bytes:
    """The leaf of an audit entry (its fields as :func:`issuer.store.audit.append` takes
    them), canonical JSON bytes."""
    body: dict[str, Any] = {"v": LEAF_VERSION, "t": at, "a": action, "by": actor}
    if person_id is not None:
        body["who"] = commitment(log_key(mac_key, person_id), index)
    body.update(_facts(action, reason, details))
    return _canonical(body)


def _facts(action: str, reason: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """The public facts of an entry: categories and counts, never typed text or ids."""
    if action in ("observation.add", "observation.void"):
        return {"kind": _text(details.get("kind")),
                "why": "self-declared" if details.get("source") == "self-declared"
                else ("recorded" if action == "observation.add" else "voided")}
    if action == "colour.change":
        scores = details.get("score")
        before, after = scores if isinstance(scores, list) and len(scores) == 2 else (None,) * 2
        return {"from": _text(details.get("from")), "to": _text(details.get("to")),
                "band": [band(before), band(after)], "policy": _text(details.get("policy")),
                "why": "rescored"}
    if action == "credential.issue":
        return {"policy": _text(details.get("policy_id")),
                "purpose": _text(details.get("purpose")) or "static",
                "run": details.get("run") if isinstance(details.get("run"), int) else None,
                "why": "issued"}
    if action.startswith("credential.revoke"):
        ctis = details.get("ctis") if action == "credential.revoke_all" else [details.get("cti")]
        return {"n": len(ctis) if isinstance(ctis, list) else 0,
                "why": reason if reason in _REVOCATION_CATEGORIES else "other"}
    if action == "appeal.decide":
        voided = details.get("voided")
        return {"decision": _text(details.get("decision")),
                "voided": len(voided) if isinstance(voided, list) else 0, "why": "appeal"}
    if action == "person.erase":
        return {"why": "erased"}
    return {"why": "family"}  # family.link, family.unlink


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= 64 else None


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


@dataclass
class Publisher:
    """Appends leaves in a write session (found in its ``info``): the next index is read
    under the audit log's lock, which the caller holds."""

    mac_key: bytes

    def next_index(self, session: Session) -> int:
        last = session.scalar(select(func.max(LogLeaf.idx)))
        return 0 if last is None else last + 1

    def add(self, session: Session, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Insert leaves ``(index, audit seq, leaf)``, their hashes computed here."""
        if rows:
            session.execute(insert(LogLeaf), [
                {"idx": idx, "seq": seq, "data": data.decode(), "hash": leaf_hash(data)}
                for idx, seq, data in rows])


def publisher(session: Session) -> Publisher | None:
    """The session's leaf publisher, or None (a session the store did not open)."""
    found = session.info.get(INFO_KEY)
    return found if isinstance(found, Publisher) else None
