"""C2SP tlog-tiles (c2sp.org/tlog-tiles): a log as static files.

A tile at level L holds up to 256 consecutive hashes at tree height 8·L: level 0 the leaf
hashes, level L+1 the roots of full level-L tiles. Tile N of level L is served at
``tile/<L>/<N>`` (full, 256 hashes, 8,192 bytes) or ``tile/<L>/<N>.p/<W>`` (partial, W of
1..255 hashes); N is written as 3-digit path elements, all but the last prefixed with ``x``
(1234067 → ``x001/x234/067``). The entries themselves are served as *entry bundles* at
``tile/entries/<N>[.p/<W>]``: each entry a big-endian uint16 length then its bytes.

Pure functions, no I/O: paths, encoding, the tiles a tree of a given size has, building every
tile of a list of leaves (a static mirror), and :class:`TileHashes`, which computes any
subtree hash (and so proofs and roots) from tiles read by a function the caller supplies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .errors import TlogError, TlogReason
from .merkle import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE, leaf_hash, node_hash, root_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
#: ``Tile.level`` of an entry bundle (``tile/entries/...``).
ENTRIES = -1
MAX_ENTRY_SIZE = 0xFFFF
_PATH = re.compile(r"tile/(0|[1-9][0-9]?|entries)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]*))?")


@dataclass(frozen=True, order=True)
class Tile:
    """A tile (``level`` 0..63) or an entry bundle (``level == ENTRIES``): its index within
    the level and its width (256 for a full tile)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path below the log's prefix, e.g. ``tile/0/x001/x234/067.p/5``."""
        level = "entries" if self.level == ENTRIES else str(self.level)
        partial = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{partial}"


def encode_index(index: int) -> str:
    """``index`` as 3-digit path elements, all but the last with an ``x``: ``x001/x234/067``."""
    digits = str(index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    parts = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join(["x" + p for p in parts[:-1]] + [parts[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The path of tile ``index`` at ``level`` (``width`` < 256: a partial tile)."""
    return Tile(level, index, width).path


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """The path of entry bundle ``index`` (``width`` < 256: a partial bundle)."""
    return Tile(ENTRIES, index, width).path


def parse_tile_path(path: str) -> Tile:
    """The :class:`Tile` a path names. Raises :class:`TlogError` (``bad_tile``)."""
    match = _PATH.fullmatch(path) if isinstance(path, str) else None
    if match is None:
        raise TlogError(TlogReason.BAD_TILE, "not a tile path", path=path)
    level_text, index_text, width_text = match.groups()
    level = ENTRIES if level_text == "entries" else int(level_text)
    index = int(index_text.replace("x", "").replace("/", ""))
    width = int(width_text) if width_text else TILE_WIDTH
    if (level > MAX_LEVEL or not 0 < width <= TILE_WIDTH or index > MAX_TREE_SIZE
            or (width_text is not None and width == TILE_WIDTH)
            or encode_index(index) != index_text):
        raise TlogError(TlogReason.BAD_TILE, "tile path out of range", path=path)
    return Tile(level, index, width)


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """The tiles (not bundles) a log publishes when it grows from ``old_size`` to
    ``new_size``: full tiles completed since, and the partial tiles of ``new_size``."""
    tiles = []
    level = 0
    while new_size >> (TILE_HEIGHT * level) > 0:
        old_n = old_size >> (TILE_HEIGHT * level)
        new_n = new_size >> (TILE_HEIGHT * level)
        if old_n != new_n:
            tiles += [Tile(level, n) for n in range(old_n >> TILE_HEIGHT, new_n >> TILE_HEIGHT)]
            width = new_n % TILE_WIDTH
            if width:
                tiles.append(Tile(level, new_n >> TILE_HEIGHT, width))
        level += 1
    return tiles


def tiles_for_size(size: int) -> list[Tile]:
    """Every tile of a tree of ``size`` leaves: full tiles and the partial ones of this size."""
    return new_tiles(0, size)


def tile_for(level: int, index: int, size: int) -> Tile:
    """Tile ``index`` of ``level`` as a tree of ``size`` leaves has it (full or partial).
    Raises :class:`TlogError` (``bad_tile``) if that tree has no such tile."""
    count = size >> (TILE_HEIGHT * level)
    width = min(TILE_WIDTH, count - index * TILE_WIDTH)
    if width <= 0:
        raise TlogError(TlogReason.BAD_TILE, "no such tile at this tree size",
                        level=level, index=index, size=size)
    return Tile(level, index, width)


def encode_tile(hashes: Sequence[bytes]) -> bytes:
    """A tile's bytes: its hashes concatenated (1..256 of 32 bytes)."""
    if not 1 <= len(hashes) <= TILE_WIDTH or any(len(h) != HASH_SIZE for h in hashes):
        raise TlogError(TlogReason.BAD_TILE, "a tile holds 1 to 256 hashes of 32 bytes")
    return b"".join(hashes)


def decode_tile(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """The hashes of a tile of ``width`` hashes. Raises :class:`TlogError` (``bad_tile``) if
    ``data`` is not exactly ``width`` × 32 bytes."""
    if not 1 <= width <= TILE_WIDTH or len(data) != width * HASH_SIZE:
        raise TlogError(TlogReason.BAD_TILE, "tile of the wrong size", size=len(data),
                        width=width)
    return [bytes(data[i:i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH or any(len(e) > MAX_ENTRY_SIZE for e in entries):
        raise TlogError(TlogReason.BAD_TILE, "a bundle holds 1 to 256 entries of ≤ 65,535 bytes")
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


def decode_bundle(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """The ``width`` entries of an entry bundle. Raises :class:`TlogError` (``bad_tile``) for
    a truncated bundle, trailing bytes or another count."""
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise TlogError(TlogReason.BAD_TILE, "truncated entry bundle")
        end = at + 2 + int.from_bytes(data[at:at + 2], "big")
        if end > len(data):
            raise TlogError(TlogReason.BAD_TILE, "truncated entry bundle")
        entries.append(bytes(data[at + 2:end]))
        at = end
    if len(entries) != width:
        raise TlogError(TlogReason.BAD_TILE, f"{len(entries)} entries where {width} expected")
    return entries


def build_tiles(leaf_hashes: Sequence[bytes]) -> dict[Tile, bytes]:
    """Every tile (full, and partial for this size) of the tree over ``leaf_hashes``."""
    tiles: dict[Tile, bytes] = {}
    level, hashes = 0, list(leaf_hashes)
    while hashes:
        parents = []
        for n in range(0, len(hashes), TILE_WIDTH):
            chunk = hashes[n:n + TILE_WIDTH]
            tiles[Tile(level, n >> TILE_HEIGHT, len(chunk))] = b"".join(chunk)
            if len(chunk) == TILE_WIDTH:
                parents.append(root_hash(chunk))
        level, hashes = level + 1, parents
    return tiles


def build_bundles(entries: Sequence[bytes]) -> dict[Tile, bytes]:
    """Every entry bundle (full, and the partial last one) of ``entries``."""
    return {Tile(ENTRIES, n >> TILE_HEIGHT, len(entries[n:n + TILE_WIDTH])):
            encode_bundle(entries[n:n + TILE_WIDTH]) for n in range(0, len(entries), TILE_WIDTH)}


def check_bundle(entries: Iterable[bytes], tile_data: bytes, width: int) -> None:
    """Check that bundle ``entries`` hash to the level-0 tile ``tile_data`` (raises
    :class:`TlogError`, ``bad_tile``)."""
    if b"".join(leaf_hash(e) for e in entries) != tile_data or len(tile_data) != width * 32:
        raise TlogError(TlogReason.BAD_TILE, "the entries do not match their tile")


class TileHashes:
    """Subtree hashes of a tree of ``size`` leaves, computed from its tiles.

    ``read_tile(tile)`` returns a tile's bytes (from files, a database or HTTP); each tile is
    read once and cached, and its length checked. Pass :meth:`subtree` to
    :func:`~.merkle.inclusion_proof` or :func:`~.merkle.consistency_proof`; :meth:`root` is
    the tree head, to compare with a checkpoint.
    """

    def __init__(self, size: int, read_tile: Callable[[Tile], bytes]) -> None:
        self.size, self.read_tile = size, read_tile
        self._cache: dict[Tile, list[bytes]] = {}

    def _hashes(self, level: int, index: int) -> list[bytes]:
        tile = tile_for(level, index, self.size)
        if tile not in self._cache:
            self._cache[tile] = decode_tile(self.read_tile(tile), tile.width)
        return self._cache[tile]

    def perfect(self, height: int, index: int) -> bytes:
        """The hash of the perfect subtree of ``2**height`` leaves, number ``index``."""
        level, within = divmod(height, TILE_HEIGHT)
        first = index << within
        hashes = self._hashes(level, first >> TILE_HEIGHT)
        start = first % TILE_WIDTH
        if start + (1 << within) > len(hashes):
            raise TlogError(TlogReason.BAD_TILE, "subtree beyond the tree", height=height)
        return root_hash(hashes[start:start + (1 << within)])

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of the leaves ``[start, end)`` (``end <= size``)."""
        if not 0 <= start < end <= self.size:
            raise TlogError(TlogReason.BAD_INDEX, "range outside the tree", start=start, end=end)
        count = end - start
        if count & (count - 1) == 0 and start % count == 0:
            return self.perfect(count.bit_length() - 1, start // count)
        k = 1 << ((count - 1).bit_length() - 1)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self) -> bytes:
        """The root of the whole tree (the empty root for size 0)."""
        return self.subtree(0, self.size) if self.size else EMPTY_ROOT
