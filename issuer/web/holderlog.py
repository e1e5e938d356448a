"""What the holder's phone checks its history against: ``/me/log.json``.

The phone (``static/holder/logcheck.js``) is given the log's published checkpoint (with its
witnesses' cosignatures), the log's and the witnesses' keys, the holder's own log key, and,
for the entries of *My data* it asks about, each leaf with its inclusion proof. It also says
which checkpoint it saw last (``since``: a tree size) and gets the consistency proof from that
one to this one. It checks all of it itself: the issuer is the party being checked, so nothing
here is taken on trust by the phone. Everything in the answer but the key is public (the
tiles at ``/log/`` give the same leaves and proofs).
"""

from __future__ import annotations

import base64
import time
from typing import Any

from apiflask import APIBlueprint
from flask import current_app, jsonify, request

from verifier.tlog import TlogError

from ..service.publiclog import (
    CHECKPOINT_INTERVAL,
    PublicLog,
    checkpoint_of,
    holder_key,
    witnesses,
)
from .holder_session import holder_headers, holder_json, problem, service

holder_log = APIBlueprint("holder_log", __name__, enable_openapi=False)
holder_log.after_request(holder_headers)

#: The most leaves (with their proofs) one answer carries: the page asks in batches.
MAX_INDICES = 64


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _indices(text: str) -> list[int] | None:
    """``index=3,17,40``: at most :data:`MAX_INDICES` leaf indices, or None if malformed."""
    if not text:
        return []
    parts = text.split(",")
    if len(parts) > MAX_INDICES or not all(p.isascii() and p.isdigit() and len(p) <= 19
                                           for p in parts):
        return None
    return sorted({int(p) for p in parts})


def _inclusion(log: PublicLog, index: int, size: int, hashes: Any) -> list[str] | None:
    """The proof, or None if the log's tables no longer give one for its own checkpoint
    (rows deleted behind its back): the phone shows that entry as not matching the log."""
    try:
        return [_b64(h) for h in log.inclusion(index, size, hashes)]
    except TlogError:
        return None


@holder_log.get("/me/log.json")
@holder_json
def log_view(person_id: str, device: dict[str, Any] | None):
    """The published checkpoint, the keys to check it with, the holder's log key; the leaves
    and inclusion proofs of the holder's entries at ``index`` (those in the checkpoint;
    later ones are ``pending``); and the consistency proof from ``since`` (a size the phone
    saw) to this checkpoint (None if the phone saw a larger log than this one)."""
    wanted = _indices(request.args.get("index", ""))
    since = request.args.get("since", "0")
    if wanted is None or not (since.isascii() and since.isdigit() and len(since) <= 19):
        return problem(400, "bad_request")
    log: PublicLog = current_app.extensions["healthcode.log"]
    interval = int(current_app.config.get("LOG_CHECKPOINT_INTERVAL", CHECKPOINT_INTERVAL))
    note = log.published(int(time.time()), interval)
    size = checkpoint_of(note).size
    mine = {e["details"]["log"] for e in service().store.audit_entries(person_id)
            if isinstance((e.get("details") or {}).get("log"), int)} if wanted else set()
    asked = [i for i in wanted if i in mine]
    included = [i for i in asked if i < size]
    try:
        hashes = log.hashes(size)
    except TlogError:  # the tables hold fewer leaves than the log's own checkpoint
        hashes = None  # every proof below fails the same way: the phone says so
    leaves = log.leaves(included)
    entries = [{"index": i, "leaf": leaves.get(i), "proof": _inclusion(log, i, size, hashes)}
               for i in included]
    old = int(since)
    consistency = None
    if 0 < old <= size:
        try:
            consistency = [_b64(h) for h in log.consistency(old, size, hashes)]
        except TlogError:  # the issuer cannot prove it: the phone says so
            consistency = None
    return jsonify({
        "origin": log.origin, "vkey": log.verifier.vkey, "checkpoint": note, "size": size,
        "witnesses": [w.vkey for w in witnesses(service().home)],
        "key": _b64(holder_key(service().store, person_id)),
        "entries": entries, "pending": [i for i in asked if i >= size],
        "unknown": [i for i in wanted if i not in mine],
        "since": old, "consistency": consistency})
