"""verifier.tlog.client: a tiled log served by a static HTTP server (a mirror: files on disk),
read and checked; tampering with the tiles or rewriting history is caught."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from verifier.tlog import checkpoint as cp
from verifier.tlog import cosignature, merkle, note, tiles
from verifier.tlog.client import LogClient, http_fetcher
from verifier.tlog.errors import TlogError, TlogReason

ORIGIN = "example.org/log"
LOG_KEY = note.Ed25519Signer(ORIGIN, ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))
WITNESS = cosignature.CosignatureSigner(
    "w.example", ed25519.Ed25519PrivateKey.from_private_bytes(b"\1" * 32),
    clock=lambda: 1_790_000_000)


def _entries(n, edited=None):
    return [b"edited" if i == edited else f"entry {i}".encode() for i in range(n)]


def publish(folder: Path, entries: list[bytes], cosign: bool = True) -> str:
    """Write a static mirror of ``entries``: tiles, bundles, a (co)signed checkpoint."""
    hashes = [merkle.leaf_hash(e) for e in entries]
    for tile, data in [*tiles.build_tiles(hashes).items(), *tiles.build_bundles(entries).items()]:
        path = folder / tile.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    signed = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, len(entries), merkle.root_hash(hashes)),
                                [LOG_KEY])
    if cosign:
        signed = note.append_signatures(signed, [WITNESS])
    (folder / "checkpoint").write_text(signed)
    return signed


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _client(url, **options):
    return LogClient(url, ORIGIN, [LOG_KEY.verifier], [WITNESS.verifier], **options)


def test_a_mirror_is_read_and_checked(mirror):
    folder, url = mirror
    entries = _entries(700)
    publish(folder, entries)
    client = _client(url, quorum=1)
    head = client.checkpoint()
    assert head.checkpoint.size == 700 and head.witnesses == {"w.example": 1_790_000_000}
    for index in (0, 255, 256, 699):
        proof = client.inclusion(merkle.leaf_hash(entries[index]), index, head)
        merkle.verify_inclusion(proof.leaf_hash, index, 700, list(proof.proof),
                                head.checkpoint.root)
    assert client.entries(2, 700) == entries[512:700]
    with pytest.raises(TlogError) as caught:
        client.inclusion(merkle.leaf_hash(b"never logged"), 3, head)
    assert caught.value.reason is TlogReason.BAD_PROOF


def test_a_grown_log_is_consistent_and_a_rewritten_one_is_not(mirror):
    folder, url = mirror
    publish(folder, _entries(300))
    client = _client(url)
    old = client.checkpoint()
    publish(folder, _entries(600))
    new = _client(url).checkpoint()
    assert len(_client(url).consistency(old, new)) == len(merkle.consistency_ranges(300, 600))
    publish(folder, _entries(900, edited=5))       # everything rehashed and re-signed
    forged = _client(url).checkpoint()
    with pytest.raises(TlogError) as caught:
        _client(url).consistency(old, forged)
    assert caught.value.reason is TlogReason.INCONSISTENT


def test_tiles_that_do_not_give_the_signed_root_are_caught(mirror):
    folder, url = mirror
    publish(folder, _entries(700))
    tile = folder / "tile/1/000.p/2"
    tile.write_bytes(hashlib.sha256(b"x").digest() + tile.read_bytes()[32:])
    with pytest.raises(TlogError) as caught:
        _client(url).checkpoint()
    assert caught.value.reason is TlogReason.BAD_PROOF


def test_a_changed_tile_the_root_does_not_read_fails_the_proofs_that_do(mirror):
    """The root of 700 leaves is read from level-1 tile 0 and level-0 tile 2; level-0 tile 1
    is read for a proof of a leaf in it, and checked by that proof."""
    folder, url = mirror
    entries = _entries(700)
    publish(folder, entries)
    tile = folder / "tile/0/001"
    tile.write_bytes(hashlib.sha256(b"x").digest() + tile.read_bytes()[32:])
    client = _client(url)
    head = client.checkpoint()
    with pytest.raises(TlogError) as caught:
        client.inclusion(merkle.leaf_hash(entries[300]), 300, head)
    assert caught.value.reason is TlogReason.BAD_PROOF


def test_a_bundle_that_does_not_match_its_tile_is_caught(mirror):
    folder, url = mirror
    publish(folder, _entries(700))
    (folder / "tile/entries/000").write_bytes(tiles.encode_bundle(_entries(256, edited=9)))
    with pytest.raises(TlogError) as caught:
        _client(url).entries(0, 700)
    assert caught.value.reason is TlogReason.BAD_TILE


def test_a_short_tile_and_a_missing_tile(mirror):
    folder, url = mirror
    publish(folder, _entries(700))
    (folder / "tile/1/000.p/2").write_bytes(bytes(32))
    with pytest.raises(TlogError) as caught:
        _client(url).checkpoint()
    assert caught.value.reason is TlogReason.BAD_TILE
    (folder / "tile/1/000.p/2").unlink()
    with pytest.raises(TlogError) as caught:
        _client(url).checkpoint()
    assert caught.value.reason is TlogReason.FETCH_FAILED


def test_quorum_and_signatures_are_enforced(mirror):
    folder, url = mirror
    publish(folder, _entries(10), cosign=False)
    with pytest.raises(TlogError) as caught:
        _client(url, quorum=1).checkpoint()
    assert caught.value.reason is TlogReason.TOO_FEW_COSIGNATURES
    (folder / "checkpoint").write_text((folder / "checkpoint").read_text().replace("\n10\n",
                                                                                  "\n11\n"))
    with pytest.raises(TlogError) as caught:
        _client(url).checkpoint()
    assert caught.value.reason is TlogReason.BAD_SIGNATURE


def test_an_oversized_response_is_cut_off(mirror):
    folder, url = mirror
    (folder / "checkpoint").write_bytes(b"x" * 70_000)
    with pytest.raises(TlogError) as caught:
        _client(url).checkpoint()
    assert caught.value.reason is TlogReason.FETCH_FAILED


@pytest.mark.parametrize("url", ["file:///etc/", "ftp://example.org/", "127.0.0.1/log"])
def test_only_http_urls(url):
    with pytest.raises(TlogError) as caught:
        http_fetcher(url)
    assert caught.value.reason is TlogReason.FETCH_FAILED


def test_nothing_listening():
    with pytest.raises(TlogError) as caught:
        _client("http://127.0.0.1:9/", timeout=2).checkpoint()
    assert caught.value.reason is TlogReason.FETCH_FAILED
