"""Read a whole tiled log, every byte checked, in bounded memory; and hold a log to the
checkpoint a monitor kept from its last run.

:func:`verified_entries` streams the entries of a checkpoint the client opened (its signature,
origin and the root its upper tiles give are checked by :meth:`LogClient.checkpoint`): bundle
by bundle, each checked against its level-0 tile, while the root is recomputed from the leaves
themselves, one 32-byte hash per level kept (a stack of perfect subtrees), and compared with the
signed root at the end. The caller counts as it goes and believes its counts only once the
iteration ends without an error.

:func:`check_history` compares the new checkpoint with the kept one: the same size with another
root is a split view, a smaller size a roll-back, a larger one needs a consistency proof from
the kept root (``inconsistent`` if it fails: the history was rewritten). Each refusal carries
both signed notes (and the proof), which together prove the log misbehaved.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from .checkpoint import Cosigned, open_checkpoint
from .client import MAX_BUNDLE_BYTES, MAX_TILE_BYTES, LogClient
from .errors import TlogError, TlogReason
from .merkle import (
    EMPTY_ROOT,
    consistency_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
)
from .monitor import MonitorError, MonitorReason
from .note import MAX_NOTE_BYTES
from .tiles import ENTRIES, TILE_HEIGHT, TILE_WIDTH, Tile, decode_bundle, tile_for

STATE_VERSION = 1


def verified_entries(client: LogClient, opened: Cosigned) -> Iterator[tuple[int, bytes]]:
    """``(index, entry)`` for every leaf of ``opened`` (a checkpoint ``client`` opened), in
    order. Raises :class:`TlogError` while iterating: ``fetch_failed``, ``bad_tile`` (a tile of
    the wrong size, a malformed bundle, entries that do not hash to their tile), ``bad_proof``
    after the last entry if the leaves do not give the signed root."""
    size = opened.checkpoint.size
    stack: list[tuple[int, bytes]] = []  # perfect subtrees (height, hash), heights decreasing

    def push(height: int, digest: bytes) -> None:
        while stack and stack[-1][0] == height:
            digest = node_hash(stack.pop()[1], digest)
            height += 1
        stack.append((height, digest))

    for n in range(-(-size // TILE_WIDTH)):
        tile = tile_for(0, n, size)
        hashes = client.fetch(tile.path, MAX_TILE_BYTES)
        bundle = decode_bundle(client.fetch(Tile(ENTRIES, n, tile.width).path,
                                            MAX_BUNDLE_BYTES), tile.width)
        leaves = [leaf_hash(entry) for entry in bundle]
        if b"".join(leaves) != hashes:
            raise TlogError(TlogReason.BAD_TILE, f"bundle {n} does not match its tile",
                            path=tile.path)
        if tile.width == TILE_WIDTH:
            push(TILE_HEIGHT, root_hash(leaves))
        else:
            for digest in leaves:
                push(0, digest)
        yield from enumerate(bundle, n * TILE_WIDTH)
    root = stack[-1][1] if stack else EMPTY_ROOT
    for _height, digest in reversed(stack[:-1]):
        root = node_hash(digest, root)
    if root != opened.checkpoint.root:
        raise TlogError(TlogReason.BAD_PROOF, "the entries do not give the signed root",
                        size=size)


def check_history(client: LogClient, kept_note: str, new: Cosigned) -> list[bytes]:
    """The consistency proof from the kept checkpoint (note text, opened again here with the
    client's keys) to ``new``, verified; empty when there is nothing to prove (same checkpoint,
    or the kept one empty). Raises :class:`MonitorError` (``split_view``, ``rolled_back``,
    ``bad_state``) or :class:`TlogError` (``inconsistent``, with ``proof``; ``bad_tile``,
    ``fetch_failed``); each with ``kept`` and ``served``, the two signed notes."""
    try:
        old = open_checkpoint(kept_note, client.origin, client.log_keys)
    except TlogError as exc:
        raise MonitorError(MonitorReason.BAD_STATE, f"the kept checkpoint: {exc.detail}") \
            from None
    a, b = old.checkpoint, new.checkpoint
    evidence = {"kept": old.note, "served": new.note}
    if a.size > b.size:
        raise MonitorError(MonitorReason.ROLLED_BACK, f"the log has {b.size} leaves where it "
                           f"signed {a.size} before", **evidence)
    if a.size == b.size:
        if a.root != b.root:
            raise MonitorError(MonitorReason.SPLIT_VIEW, **evidence)
        return []
    if a.size == 0:
        return []
    proof = consistency_proof(a.size, b.size, client.hashes(b.size).subtree)
    try:
        verify_consistency(a.size, b.size, a.root, b.root, proof)
    except TlogError:
        raise TlogError(TlogReason.INCONSISTENT, f"no consistency from size {a.size} to "
                        f"{b.size}: the log's history was rewritten",
                        proof=[_b64(p) for p in proof], **evidence) from None
    return proof


def state_json(opened: Cosigned) -> str:
    """The state a monitor keeps: the last checkpoint it verified (size, root, signed note)."""
    c = opened.checkpoint
    return json.dumps({"v": STATE_VERSION, "origin": c.origin, "size": c.size,
                       "root": _b64(c.root), "note": opened.note}, indent=1) + "\n"


def kept_note(text: bytes, origin: str) -> str:
    """The signed note kept in a state file's bytes. Raises :class:`MonitorError`
    (``bad_state``) for a file that is not a state of the log ``origin``."""
    try:
        state: Any = json.loads(text[:MAX_NOTE_BYTES * 2])
        ok = (isinstance(state, dict) and state.get("v") == STATE_VERSION
              and isinstance(state.get("note"), str) and state.get("origin") == origin)
    except (ValueError, RecursionError):
        ok = False
    if not ok:
        raise MonitorError(MonitorReason.BAD_STATE, f"not a monitor state of {origin}")
    return state["note"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()

