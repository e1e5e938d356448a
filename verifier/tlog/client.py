"""Read a tiled log (c2sp.org/tlog-tiles) over HTTP(S): the checkpoint, tiles, entry bundles,
and the proofs they give, every byte checked before it is believed.

``LogClient(base_url, origin, log_keys, witnesses=(), quorum=0)``: :meth:`~LogClient.checkpoint`
fetches ``<base>/checkpoint`` and opens it (the log's signature, the origin, the witnesses'
quorum), then recomputes the root from the tiles that size implies and refuses a checkpoint
whose root the tiles do not give. Proofs are computed from the same tiles and verified before
they are returned. Requests go through ``urllib`` with a timeout and a size bound per resource
(a checkpoint is a note of at most 64 KiB; a tile 8,192 bytes; a bundle 256 × 64 KiB); a
``fetch`` function can replace the network (a mirror on disk, a test).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .checkpoint import Cosigned, open_checkpoint
from .cosignature import CosignatureVerifier
from .errors import TlogError, TlogReason
from .merkle import (
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from .note import MAX_NOTE_BYTES, Verifier
from .tiles import (
    ENTRIES,
    TILE_WIDTH,
    Tile,
    TileHashes,
    check_bundle,
    decode_bundle,
    tile_for,
)

TIMEOUT = 10.0
MAX_TILE_BYTES = TILE_WIDTH * 32
MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 0xFFFF)

#: ``fetch(path, max_bytes)``: the bytes at ``path`` below the log's prefix.
Fetch = Callable[[str, int], bytes]


def http_fetcher(base_url: str, timeout: float = TIMEOUT) -> Fetch:
    """A :data:`Fetch` reading ``base_url`` + path with ``urllib``: HTTP(S) only, at most
    ``max_bytes`` per response, ``timeout`` seconds per request. Failures raise
    :class:`TlogError` (``fetch_failed``)."""
    if not base_url.startswith(("https://", "http://")):
        raise TlogError(TlogReason.FETCH_FAILED, "the log's URL must be http(s)", url=base_url)
    prefix = base_url.rstrip("/") + "/"

    def fetch(path: str, max_bytes: int) -> bytes:
        url = prefix + path
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url, headers={"Accept-Encoding": "identity"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data = response.read(max_bytes + 1)
        except urllib.error.HTTPError as error:
            error.close()
            raise TlogError(TlogReason.FETCH_FAILED, f"{url}: HTTP {error.code}",
                            url=url) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            raise TlogError(TlogReason.FETCH_FAILED, f"{url}: {error}", url=url) from None
        if len(data) > max_bytes:
            raise TlogError(TlogReason.FETCH_FAILED, f"{url}: over {max_bytes} bytes", url=url)
        return data

    return fetch


@dataclass(frozen=True)
class InclusionProof:
    """A leaf's proof against a verified checkpoint."""

    index: int
    size: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]


class LogClient:
    """A client of one log, identified by its origin and note keys (see the module doc)."""

    def __init__(self, base_url: str, origin: str, log_keys: Sequence[Verifier],
                 witnesses: Sequence[CosignatureVerifier] = (), quorum: int = 0, *,
                 fetch: Fetch | None = None, timeout: float = TIMEOUT) -> None:
        self.origin, self.log_keys = origin, list(log_keys)
        self.witnesses, self.quorum = list(witnesses), quorum
        self.fetch = fetch or http_fetcher(base_url, timeout)
        self._tiles: dict[int, TileHashes] = {}

    def checkpoint(self) -> Cosigned:
        """The log's current checkpoint, verified (signatures, quorum) and checked against
        its tiles. Raises :class:`TlogError`: ``fetch_failed``, the reasons of
        :func:`~.checkpoint.open_checkpoint`, ``bad_tile``, ``bad_proof`` (the tiles do not
        give the signed root)."""
        opened = open_checkpoint(self.fetch("checkpoint", MAX_NOTE_BYTES), self.origin,
                                 self.log_keys, self.witnesses, self.quorum)
        if self.hashes(opened.checkpoint.size).root() != opened.checkpoint.root:
            raise TlogError(TlogReason.BAD_PROOF, "the tiles do not give the signed root",
                            size=opened.checkpoint.size)
        return opened

    def hashes(self, size: int) -> TileHashes:
        """Subtree hashes of the tree of ``size`` leaves, from tiles fetched as needed
        (shared across sizes: a full tile is the same in every tree that has it)."""
        if size not in self._tiles:
            self._tiles[size] = TileHashes(size, self._read_tile)
        return self._tiles[size]

    def _read_tile(self, tile: Tile) -> bytes:
        data = self.fetch(tile.path, MAX_TILE_BYTES)
        if len(data) != tile.width * 32:
            raise TlogError(TlogReason.BAD_TILE, "tile of the wrong size", path=tile.path)
        return data

    def entries(self, index: int, size: int) -> list[bytes]:
        """The entries of bundle ``index`` in the tree of ``size`` leaves, checked against
        their level-0 tile. Raises :class:`TlogError` (``bad_tile``, ``fetch_failed``)."""
        tile = tile_for(0, index, size)
        bundle = decode_bundle(self.fetch(Tile(ENTRIES, index, tile.width).path,
                                          MAX_BUNDLE_BYTES), tile.width)
        check_bundle(bundle, self._read_tile(tile), tile.width)
        return bundle

    def inclusion(self, leaf_hash: bytes, index: int, checkpoint: Cosigned) -> InclusionProof:
        """The inclusion proof of ``leaf_hash`` at ``index`` in a checkpoint this client
        opened, verified against its root. Raises :class:`TlogError` (``bad_proof`` if the
        leaf is not there, ``bad_index``, ``bad_tile``, ``fetch_failed``)."""
        size = checkpoint.checkpoint.size
        proof = inclusion_proof(index, size, self.hashes(size).subtree)
        verify_inclusion(leaf_hash, index, size, proof, checkpoint.checkpoint.root)
        return InclusionProof(index, size, leaf_hash, tuple(proof))

    def consistency(self, old: Cosigned, new: Cosigned) -> list[bytes]:
        """The consistency proof from ``old`` to ``new`` (both opened by this client),
        verified. Raises :class:`TlogError` (``inconsistent``: the log forked or rewrote its
        history; ``bad_index`` if ``old`` is larger; ``bad_tile``, ``fetch_failed``)."""
        a, b = old.checkpoint, new.checkpoint
        proof = consistency_proof(a.size, b.size, self.hashes(b.size).subtree)
        verify_consistency(a.size, b.size, a.root, b.root, proof)
        return proof

