"""verifier.tlog.tiles: tile and bundle paths (C2SP, tessera's vectors), which tiles a tree
has, building them, and proofs computed from them."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vectorlib import load

from verifier.tlog import merkle, tiles
from verifier.tlog.errors import TlogError, TlogReason

V = load("tlog/tiles.json")


def _level(value):
    return tiles.ENTRIES if value == "entries" else value


@pytest.mark.parametrize("vector", V["paths"], ids=lambda v: v["path"])
def test_paths(vector):
    tile = tiles.Tile(_level(vector["level"]), vector["index"], vector["width"])
    assert tile.path == vector["path"]
    assert tiles.parse_tile_path(vector["path"]) == tile


@pytest.mark.parametrize("vector", V["bad_paths"], ids=lambda v: v["path"])
def test_bad_paths(vector):
    with pytest.raises(TlogError) as caught:
        tiles.parse_tile_path(vector["path"])
    assert caught.value.reason is TlogReason.BAD_TILE


@pytest.mark.parametrize("path", ["tile/0/x000/001", "tile/0/000.p/0", "tile/00/000",
                                  "tile/entries/000.p/010", "/tile/0/000", "tile/0/000/"])
def test_non_canonical_paths_are_refused(path):
    with pytest.raises(TlogError):
        tiles.parse_tile_path(path)


@pytest.mark.parametrize("vector", V["sizes"], ids=lambda v: str(v["size"]))
def test_the_tiles_of_a_tree_size(vector):
    have = tiles.tiles_for_size(vector["size"])
    for level, (full, partial) in vector["count"].items():
        at = [t for t in have if t.level == int(level)]
        assert sum(t.width == tiles.TILE_WIDTH for t in at) == full
        assert [t.width for t in at if t.width < tiles.TILE_WIDTH] == ([partial] if partial else [])
    assert {t.level for t in have} == {int(level) for level in vector["count"]}


@pytest.mark.parametrize(("old", "new", "count"), [
    (1, 1, 0), (100, 101, 1), (1023, 1025, 3), (1024, 1030, 1), (1030, 2000, 5),
    (1030, 10000, 37), (0, 70_000, 277),
])
def test_new_tiles(old, new, count):
    """Counts worked out by hand for 256-wide tiles (sumdb's TestNewTilesForSize has the same
    cases for its 1,024-wide ones), e.g. 1,030 → 2,000: full level-0 tiles 4, 5, 6, the partial
    tile 7 (208), the partial level-1 tile 0 (7)."""
    got = tiles.new_tiles(old, new)
    assert len(got) == count
    assert set(got) <= set(tiles.tiles_for_size(new))


def _leaves(n):
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def test_build_tiles_gives_exactly_the_tiles_of_the_size_and_the_root():
    leaves = _leaves(70_000)
    built = tiles.build_tiles(leaves)
    assert sorted(built) == sorted(tiles.tiles_for_size(70_000))
    hashes = tiles.TileHashes(70_000, built.__getitem__)
    assert hashes.root() == merkle.root_hash(leaves)
    assert hashes.subtree(65_536, 70_000) == merkle.root_hash(leaves[65_536:])


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 1300), data=st.data())
def test_proofs_from_tiles_are_the_proofs(size, data):
    leaves = _leaves(size)
    built = tiles.build_tiles(leaves)
    hashes = tiles.TileHashes(size, built.__getitem__)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    assert merkle.inclusion_proof(index, size, hashes.subtree) == \
        merkle.inclusion_proof(index, size, leaves)
    assert merkle.consistency_proof(old, size, hashes.subtree) == \
        merkle.consistency_proof(old, size, leaves)
    assert hashes.root() == merkle.root_hash(leaves)


def test_a_tile_of_the_wrong_length_is_refused():
    built = tiles.build_tiles(_leaves(300))
    short = tiles.TileHashes(300, lambda t: built[t][:-1])
    with pytest.raises(TlogError) as caught:
        short.root()
    assert caught.value.reason is TlogReason.BAD_TILE


def test_bundles_round_trip_and_match_their_tile():
    entries = [bytes([i % 256]) * (i % 50) for i in range(300)]
    bundles = tiles.build_bundles(entries)
    assert [t.path for t in sorted(bundles)] == ["tile/entries/000", "tile/entries/001.p/44"]
    assert tiles.decode_bundle(bundles[tiles.Tile(tiles.ENTRIES, 1, 44)], 44) == entries[256:]
    level0 = tiles.build_tiles([merkle.leaf_hash(e) for e in entries])
    tiles.check_bundle(entries[:256], level0[tiles.Tile(0, 0)], 256)
    with pytest.raises(TlogError):
        tiles.check_bundle(entries[1:257], level0[tiles.Tile(0, 0)], 256)


@pytest.mark.parametrize(("data", "width"), [
    (b"\x00", 1), (b"\x00\x05abc", 1), (b"\x00\x01a\x00", 1), (b"\x00\x01a", 2),
    (b"\x00\x00\x00\x00", 1),
])
def test_malformed_bundles_are_refused(data, width):
    with pytest.raises(TlogError) as caught:
        tiles.decode_bundle(data, width)
    assert caught.value.reason is TlogReason.BAD_TILE


def test_tile_encoding_bounds():
    assert tiles.decode_tile(tiles.encode_tile([bytes(32)] * 3), 3) == [bytes(32)] * 3
    for bad in ([], [bytes(32)] * 257, [bytes(31)]):
        with pytest.raises(TlogError):
            tiles.encode_tile(bad)
    for data, width in ((bytes(64), 3), (bytes(0), 0), (bytes(32 * 257), 257)):
        with pytest.raises(TlogError):
            tiles.decode_tile(data, width)
    with pytest.raises(TlogError):
        tiles.encode_bundle([bytes(65_536)])


def test_a_tile_the_tree_does_not_have():
    with pytest.raises(TlogError) as caught:
        tiles.tile_for(0, 2, 512)
    assert caught.value.reason is TlogReason.BAD_TILE
    assert tiles.tile_for(1, 0, 512) == tiles.Tile(1, 0, 2)
