"""The public transparency log as the issuer serves it (C2SP tlog-tiles at ``/log/``): tiles
and entry bundles made from the ``log_leaf`` table, and a checkpoint (C2SP tlog-checkpoint)
signed as a C2SP signed note by the issuer's log key (Ed25519, ``HOME/keys/log-note-key.pem``,
encrypted under the passphrase like the signing keys, 0600).

A full tile never changes: it is made once and kept in memory (a bounded number of them). A
partial tile is made for the size asked. Leaves are made with their audit entries
(:mod:`issuer.store.public_log`); this module only reads them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from verifier.tlog import TlogError, TlogReason
from verifier.tlog.checkpoint import (
    Checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from verifier.tlog.cosignature import CosignatureVerifier
from verifier.tlog.merkle import consistency_proof, inclusion_proof, root_hash
from verifier.tlog.note import Ed25519Signer, Ed25519Verifier, sign_note, split_note
from verifier.tlog.tiles import (
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileHashes,
    encode_bundle,
    encode_tile,
    tile_for,
)

from ..keys.home import Home, HomeError, write_atomic
from ..store import Store
from ..store.db import LogCheckpoint, LogLeaf
from ..store.public_log import KEY_PURPOSE, log_key

NOTE_KEY_FILE = "log-note-key.pem"
#: The witnesses whose cosignatures the log collects: their vkeys, one a line, in the home.
WITNESSES_FILE = "log-witnesses.txt"
#: Seconds between published checkpoints (each stays put that long for witnesses to cosign).
CHECKPOINT_INTERVAL = 60
#: Full tiles kept in memory (32 bytes × 256 each: 8 KiB; 4,096 of them is 32 MiB).
FULL_TILES_KEPT = 4096


def note_signer(home: Home, origin: str) -> Ed25519Signer:
    """The log's note key, made on first use; named by the log's ``origin``."""
    path: Path = home.keys / NOTE_KEY_FILE
    if not path.exists():
        home.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ed25519.Ed25519PrivateKey.generate()
        write_atomic(path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(home.passphrase(create=True))))
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), home.passphrase())
    except ValueError:
        raise HomeError(f"cannot decrypt {path}: wrong passphrase?") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise HomeError(f"{path} is not an Ed25519 key")
    return Ed25519Signer(origin, key)


class PublicLog:
    """The issuer's log, read from its store: size, tiles, bundles, signed checkpoint."""

    def __init__(self, store: Store, signer: Ed25519Signer, origin: str) -> None:
        self.store, self.signer, self.origin = store, signer, origin
        self._full: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def verifier(self) -> Ed25519Verifier:
        """What a client checks the log's signature with (its ``vkey`` is published)."""
        return self.signer.verifier

    def size(self) -> int:
        with self.store.reading() as session:
            last = session.scalar(select(func.max(LogLeaf.idx)))
        return 0 if last is None else last + 1

    def published(self, now: int, interval: int = CHECKPOINT_INTERVAL) -> str:
        """The checkpoint the log serves: the newest it published, with the cosignatures
        witnesses sent for it; a new one, signed for the log's size now, once the log grew and
        ``interval`` seconds have passed (witnesses get time to cosign each)."""
        with self.store.reading() as session:
            newest = session.scalars(select(LogCheckpoint).order_by(
                LogCheckpoint.size.desc()).limit(1)).first()
        size = self.size()
        if newest is not None and (newest.size == size
                                   or now - newest.published_at < interval):
            return newest.note
        note = self.checkpoint(size)
        with self.store.writing() as session:
            if session.get(LogCheckpoint, size) is None:
                session.add(LogCheckpoint(size=size, note=note, published_at=now))
                return note
            return session.get(LogCheckpoint, size).note

    def cosign(self, note: str, witnesses: list[CosignatureVerifier]) -> str:
        """Add the cosignatures in ``note`` (a checkpoint this log published, cosigned by one
        or more of ``witnesses``) to the published one; return it. Raises
        :class:`verifier.tlog.TlogError`: ``unknown_key`` (no witness of this log cosigned
        it, or the log did not sign it), ``bad_checkpoint`` (not a checkpoint this log
        published: another size or root), the note's own reasons."""
        opened = open_checkpoint(note, self.origin, [self.verifier], witnesses)
        if not opened.witnesses:
            raise TlogError(TlogReason.UNKNOWN_KEY, "no witness of this log cosigned it")
        text, lines = split_note(note)
        names = {(w.name, w.key_id) for w in witnesses}
        fresh = [s for s in lines if (s.name, s.key_id) in names]
        with self.store.writing() as session:
            row = session.get(LogCheckpoint, opened.checkpoint.size, with_for_update=True)
            published, signatures = split_note(row.note) if row is not None else (None, [])
            if published != text:
                raise TlogError(TlogReason.BAD_CHECKPOINT, "not a checkpoint this log published",
                                size=opened.checkpoint.size)
            replaced = {(f.name, f.key_id) for f in fresh}
            kept = [s for s in signatures if (s.name, s.key_id) not in replaced]
            row.note = sign_note(text, [], keep=kept + fresh)
            return row.note

    def hashes(self, size: int) -> TileHashes:
        """The subtree hashes of the log at ``size`` leaves, read from its tiles (one
        object for several proofs: each tile is read once). Raises
        :class:`verifier.tlog.TlogError` (``bad_index``) for a size beyond the log."""
        if type(size) is not int or size > self.size():
            raise TlogError(TlogReason.BAD_INDEX, "beyond the log", size=size)
        return TileHashes(size, lambda tile: self.tile(tile, size))

    def inclusion(self, index: int, size: int, hashes: TileHashes | None = None
                  ) -> list[bytes]:
        """The inclusion proof of leaf ``index`` in the log at ``size`` (RFC 9162), from
        ``hashes`` (:meth:`hashes` of ``size``; made here if None). Raises
        :class:`verifier.tlog.TlogError` (``bad_index``) outside the log."""
        return inclusion_proof(index, size, (hashes or self.hashes(size)).subtree)

    def consistency(self, old: int, new: int, hashes: TileHashes | None = None
                    ) -> list[bytes]:
        """The consistency proof from the log at ``old`` leaves to the log at ``new``, from
        ``hashes`` (:meth:`hashes` of ``new``; made here if None). Raises
        :class:`verifier.tlog.TlogError` (``bad_index``) unless 0 < old <= new <= the log's
        size."""
        return consistency_proof(old, new, (hashes or self.hashes(new)).subtree)

    def leaves(self, indices: list[int]) -> dict[int, str]:
        """The leaves (their JSON text) at ``indices``."""
        with self.store.reading() as session:
            return {idx: data for idx, data in session.execute(
                select(LogLeaf.idx, LogLeaf.data).where(LogLeaf.idx.in_(indices)))}

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint of the log at ``size`` (default: as it is now)."""
        size = self.size() if size is None else size
        root = TileHashes(size, lambda tile: self.tile(tile, size)).root()
        return sign_checkpoint(Checkpoint(self.origin, size, root), [self.signer])

    def tile(self, tile: Tile, size: int | None = None) -> bytes:
        """A tile's or an entry bundle's bytes, as a log of ``size`` leaves (default: now)
        serves it. Raises :class:`verifier.tlog.TlogError` (``bad_tile``) for one it has
        not got."""
        size = self.size() if size is None else size
        have = tile_for(0 if tile.level == ENTRIES else tile.level, tile.index, size)
        if tile.width > have.width:
            raise TlogError(TlogReason.BAD_TILE, "wider than the log is", path=tile.path)
        if tile.level == ENTRIES:
            first = tile.index * TILE_WIDTH
            return encode_bundle([data.encode() for data in self._column(
                LogLeaf.data, first, first + tile.width)])
        return encode_tile(self._hashes(tile.level, tile.index, tile.width))

    def _hashes(self, level: int, index: int, width: int) -> list[bytes]:
        if width == TILE_WIDTH:
            with self._lock:
                kept = self._full.get((level, index))
                if kept is not None:
                    self._full.move_to_end((level, index))
                    return _split(kept)
        if level == 0:
            first = index * TILE_WIDTH
            hashes = [bytes(h) for h in self._column(LogLeaf.hash, first, first + width)]
        else:  # each hash: the root of a full tile one level down
            hashes = [root_hash(self._hashes(level - 1, index * TILE_WIDTH + j, TILE_WIDTH))
                      for j in range(width)]
        if width == TILE_WIDTH:
            with self._lock:
                self._full[(level, index)] = b"".join(hashes)
                while len(self._full) > FULL_TILES_KEPT:
                    self._full.popitem(last=False)
        return hashes

    def _column(self, column: Any, start: int, end: int) -> list[Any]:
        with self.store.reading() as session:
            return list(session.scalars(select(column).where(
                LogLeaf.idx >= start, LogLeaf.idx < end).order_by(LogLeaf.idx)))


def checkpoint_of(note: str) -> Checkpoint:
    """The checkpoint in a note this log signed (its signatures are not checked again)."""
    return parse_checkpoint(split_note(note)[0])


def _split(joined: bytes) -> list[bytes]:
    return [joined[i:i + 32] for i in range(0, len(joined), 32)]


def witnesses(home: Home) -> list[CosignatureVerifier]:
    """The witnesses named in the home's :data:`WITNESSES_FILE` (none if there is none)."""
    path = home.root / WITNESSES_FILE
    if not path.exists():
        return []
    return [CosignatureVerifier.from_vkey(line.strip())
            for line in path.read_text().splitlines() if line.strip() and line[0] != "#"]


def holder_key(store: Store, person_id: str) -> bytes:
    """The person's log key: their phone finds their own leaves with it (``who``)."""
    return log_key(store.data_keys.derived(KEY_PURPOSE), person_id)


def default_origin(public_url: str | None, iss: str) -> str:
    """The log's origin: the public URL's host and ``/log``, or the issuer id's."""
    host = urlsplit(public_url).hostname if public_url else None
    return f"{host or iss.lower() + '.healthcode'}/log"


__all__ = ["CHECKPOINT_INTERVAL", "FULL_TILES_KEPT", "PublicLog", "TILE_HEIGHT",
           "checkpoint_of", "default_origin", "holder_key", "note_signer", "witnesses"]
