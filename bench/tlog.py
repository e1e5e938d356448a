"""Transparency log (issue 18): a tree of 1,000,000 leaves built into tiles, its proofs' sizes,
and what verifying them costs.

Baselines, timed in the same run: for building, the irreducible work of the tree (one bare
``hashlib.sha256`` per inner node, a million calls, in a list comprehension); for proof
verification, the same number of bare node hashes as the proof has; for a checkpoint, the bare
Ed25519 signature checks (the log's and two witnesses'). Building is timed in interleaved rounds
(baseline, then ours, alternating which goes first), as the harness does for short calls.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ed25519

from verifier.tlog import (
    Checkpoint,
    CosignatureSigner,
    Ed25519Signer,
    TileHashes,
    append_signatures,
    build_tiles,
    consistency_proof,
    cosigned_message,
    inclusion_proof,
    leaf_hash,
    open_checkpoint,
    root_hash,
    sign_checkpoint,
    verify_consistency,
    verify_inclusion,
)

from . import report
from .timing import Settings, compare, measure

LEAVES = 1_000_000
ENTRY_BYTES = 120  # about a log entry of the issuer's (time, action, colours, commitment…)
_SEED = 18


def _interleaved(baseline: Callable[[], object], candidate: Callable[[], object],
                 rounds: int) -> tuple[float, float, float]:
    """Median seconds of ``baseline`` and ``candidate`` over interleaved rounds, and the
    median of the per-round ratios (baseline / candidate)."""
    base, cand = [], []
    for round_no in range(rounds):
        order = (baseline, candidate) if round_no % 2 == 0 else (candidate, baseline)
        for fn in order:
            started = time.perf_counter()
            fn()
            (base if fn is baseline else cand).append(time.perf_counter() - started)
    ratios = [b / c for b, c in zip(base, cand, strict=True)]
    return statistics.median(base), statistics.median(cand), statistics.median(ratios)


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    n, rounds = (10_000, 1) if quick else (LEAVES, 3)
    rng = random.Random(_SEED)
    entries = [rng.randbytes(ENTRY_BYTES) for _ in range(n)]
    sha256 = hashlib.sha256

    hashes: list[bytes] = []
    leaf_base, leaf_ours, leaf_ratio = _interleaved(
        lambda: [sha256(e).digest() for e in entries],
        lambda: hashes.__setitem__(slice(None), [leaf_hash(e) for e in entries]), rounds)
    tiles: dict = {}
    build_base, build_ours, build_ratio = _interleaved(
        lambda: [sha256(b"\x01" + h + h).digest() for h in hashes],
        lambda: tiles.update(build_tiles(hashes)), rounds)
    started = time.perf_counter()
    root = root_hash(hashes)
    root_seconds = time.perf_counter() - started
    tile_bytes = sum(len(v) for v in tiles.values())

    reads: list = []
    tile_hashes = TileHashes(n, lambda t: reads.append(t) or tiles[t])
    assert tile_hashes.root() == root
    root_reads = len(reads)
    fresh = lambda: TileHashes(n, tiles.__getitem__)  # noqa: E731

    samples = [rng.randrange(n) for _ in range(200)]
    incl_sizes = [len(inclusion_proof(i, n, fresh().subtree)) for i in samples]
    olds = [rng.randrange(1, n) for _ in range(200)]
    cons_sizes = [len(consistency_proof(m, n, fresh().subtree)) for m in olds]

    index, old = n // 2 + n // 80, n - 1_000
    proof = inclusion_proof(index, n, fresh().subtree)
    cproof = consistency_proof(old, n, fresh().subtree)
    old_root = root_hash(hashes[:old])
    slow = settings.slow()
    gen_incl = measure(lambda: inclusion_proof(index, n, fresh().subtree), slow)
    gen_cons = measure(lambda: consistency_proof(old, n, fresh().subtree), slow)

    leaf = hashes[index]
    pair = leaf + leaf
    incl = compare(lambda: [sha256(b"\x01" + pair).digest() for _ in proof],
                   lambda: verify_inclusion(leaf, index, n, proof, root), settings)
    cons = compare(lambda: [sha256(b"\x01" + pair).digest() for _ in range(2 * len(cproof))],
                   lambda: verify_consistency(old, n, old_root, root, cproof), settings)

    log = Ed25519Signer("example.org/log", ed25519.Ed25519PrivateKey.generate())
    witnesses = [CosignatureSigner(f"w{i}.example", ed25519.Ed25519PrivateKey.generate(),
                                   clock=lambda: 1_790_000_000) for i in range(2)]
    checkpoint = Checkpoint("example.org/log", n, root)
    note = append_signatures(sign_checkpoint(checkpoint, [log]), witnesses)
    body = checkpoint.body().encode()
    bare = [(log.verifier.public_key, log.sign(body), body)] + [
        (w.verifier.public_key, w.sign(body)[8:], cosigned_message(body.decode(), 1_790_000_000))
        for w in witnesses]
    opening = compare(lambda: [key.verify(sig, msg) for key, sig, msg in bare],
                      lambda: open_checkpoint(note, "example.org/log", [log.verifier],
                                              [w.verifier for w in witnesses], quorum=2),
                      settings)

    rows = [
        ["leaf hashes: SHA-256(0x00 ‖ entry), 120-byte entries",
         f"{report.us(leaf_ours / n)} µs", f"{n / leaf_ours:,.0f}/s",
         f"**{report.ratio(leaf_ratio)}** of bare SHA-256 of the entries"],
        ["all tiles from the leaf hashes (`build_tiles`)", f"{build_ours:.2f} s total",
         f"{n / build_ours:,.0f} leaves/s",
         f"**{report.ratio(build_ratio)}** of one bare SHA-256 per inner node"],
        ["root from the leaf hashes (`root_hash`)", f"{root_seconds:.2f} s total",
         f"{n / root_seconds:,.0f} leaves/s", ""],
    ]
    sizes = [
        ["inclusion proof, 200 random leaves", f"{min(incl_sizes)}–{max(incl_sizes)}",
         f"{32 * min(incl_sizes)}–{32 * max(incl_sizes)}"],
        ["consistency proof from 200 random sizes", f"{min(cons_sizes)}–{max(cons_sizes)}",
         f"{32 * min(cons_sizes)}–{32 * max(cons_sizes)}"],
        [f"consistency proof from {old:,}", str(len(cproof)), str(32 * len(cproof))],
    ]
    costs = [
        [f"`verify_inclusion`, leaf {index:,} ({len(proof)} hashes)",
         report.stats_us(incl.candidate), report.ratios(incl)],
        [f"`verify_consistency` from {old:,} ({len(cproof)} hashes)",
         report.stats_us(cons.candidate), report.ratios(cons)],
        ["`open_checkpoint`: the log's signature + 2 cosignatures, quorum 2",
         report.stats_us(opening.candidate), report.ratios(opening)],
        ["inclusion proof computed from tiles (in memory, cold cache)",
         report.stats_us(gen_incl), ""],
        ["consistency proof computed from tiles (in memory, cold cache)",
         report.stats_us(gen_cons), ""],
    ]
    body = "\n".join([
        f"### Transparency log: {n:,} leaves",
        "",
        f"{n:,} random {ENTRY_BYTES}-byte entries. Building: medians of {rounds} rounds, each "
        f"interleaved with its baseline. The tiles: {len(tiles):,} of them, "
        f"{tile_bytes:,} bytes (the tree's {n:,} leaf hashes and every full subtree of 256, "
        f"65,536, … leaves); the root from the tiles reads {root_reads} tiles.",
        "",
        report.table(["building", "per leaf / total", "rate", "ratio (median of rounds)"],
                     rows),
        "",
        report.table(["proof", "hashes", "bytes"], sizes),
        "",
        report.table(["verifying", "µs per call, median (min)", "ratio vs baseline"], costs),
    ])
    summary = [
        [f"tlog: tiles for {n:,} leaves (from leaf hashes)", f"{n / build_ours:,.0f} leaves/s",
         f"{report.ratio(build_ratio)} of bare SHA-256 per node"],
        [f"tlog: inclusion / consistency proof at {n:,}",
         f"{max(incl_sizes)} / {max(cons_sizes)} hashes max",
         f"verify {report.us(incl.candidate.median)} / {report.us(cons.candidate.median)} µs"],
    ]
    return report.Section(body, summary)
