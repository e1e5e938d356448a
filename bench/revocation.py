"""Revocation list: the signed file for 1,000,000 revoked credentials, its load, and lookups.

Baseline for lookups: ``entry in frozenset_of_the_same_7_byte_hashes``, the obvious in-memory
structure (a C hash table), against :meth:`RevocationList.contains_hash` (a two-byte prefix
index, then one ``bytes.find`` over a bucket of ~15 entries in the sorted blob). The ratio says
what the compact form costs per lookup; the memory columns say what it saves.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
import tracemalloc
from collections.abc import Callable
from itertools import cycle

from issuer.keys.signing import sign_cose
from verifier import RevocationList, Revocations, verify
from verifier.claims import CTI_LENGTH
from verifier.cose import decode_sign1, loads_strict, sig_structure
from verifier.keys import verify_signature
from verifier.revocation import HASH_BYTES, encode_payload, entry_hash

from . import report
from .fixtures import TTL, make_issuer
from .timing import Settings, Stats, compare, measure

ENTRIES = 1_000_000
SIZE_TARGET = 8_000_000  # bytes, "8 MB" at its strictest
#: Distinct lookups cycled through in the "cold" rows: enough to leave the CPU caches.
POOL = 100_000
_SEED = 20261129


def _traced(build: Callable[[], object]) -> tuple[object, int, int]:
    """Return ``(result, bytes it keeps, peak bytes while building)`` under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        result = build()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, kept, peak


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f}"


def _us2(seconds: float) -> str:
    return f"{seconds * 1e6:.2f}"


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for the revocation list."""
    issuer = make_issuer()
    rng = random.Random(_SEED)
    revoked = [rng.randbytes(CTI_LENGTH) for _ in range(ENTRIES)]
    others = [rng.randbytes(CTI_LENGTH) for _ in range(POOL)]
    started = time.perf_counter()
    signed = sign_cose(issuer.key, encode_payload(iss=issuer.iss, seq=1, iat=issuer.iat,
                                                  exp=issuer.iat + TTL, ctis=revoked))
    publish = time.perf_counter() - started
    trust = issuer.trust
    listed, list_kept, list_peak = _traced(lambda: RevocationList.from_cose(signed, trust))
    assert isinstance(listed, RevocationList) and len(listed) == ENTRIES
    hashes = listed.hashes
    baseline, set_kept, _ = _traced(lambda: frozenset(
        hashes[i:i + HASH_BYTES] for i in range(0, len(hashes), HASH_BYTES)))
    assert isinstance(baseline, frozenset) and len(baseline) == ENTRIES
    assert all(cti in listed for cti in revoked[::1000])
    assert not any(cti in listed for cti in others)

    slow = settings.slow()
    load = measure(lambda: RevocationList.from_cose(signed, trust), slow)
    stages = _load_stages(signed, listed, issuer.trust, slow)

    hit, miss = entry_hash(revoked[ENTRIES // 3]), entry_hash(others[0])
    present = compare(lambda: hit in baseline, lambda: listed.contains_hash(hit), settings)
    absent = compare(lambda: miss in baseline, lambda: listed.contains_hash(miss), settings)
    pool = [entry_hash(cti) for cti in others]
    set_pool, list_pool = cycle(pool), cycle(pool)
    cold = compare(lambda: next(set_pool) in baseline,
                   lambda: listed.contains_hash(next(list_pool)), settings)
    miss_cti = others[0]
    full = compare(lambda: entry_hash(miss_cti) in baseline, lambda: miss_cti in listed,
                   settings)
    revocations = Revocations({issuer.iss: listed})
    iss = issuer.iss
    per_check = measure(lambda: revocations.is_revoked(iss, miss_cti), settings)
    text, now = issuer.issue(), issuer.now
    verify_time = measure(lambda: verify(text, trust, now), settings)

    size = len(signed)
    met = "**met**" if size <= SIZE_TARGET else "**not met**"
    index_bytes = list_kept - len(hashes)
    sizes = report.table(["what", "bytes", "MB (10⁶ bytes)", "note"], [
        ["signed file (COSE_Sign1, ES256)", f"{size:,}", _mb(size),
         f"≤ {SIZE_TARGET:,}: {met}; {size - ENTRIES * HASH_BYTES} bytes of header, "
         "fields and signature"],
        ["`RevocationList` in memory, kept after load", f"{list_kept:,}", _mb(list_kept),
         f"the hashes, plus {index_bytes:,} of prefix index and fields"],
        ["… peak while loading", f"{list_peak:,}", _mb(list_peak),
         "file copies during decoding and the index build's temporaries"],
        ["baseline: `frozenset` of the 7-byte hashes", f"{set_kept:,}", _mb(set_kept),
         f"{set_kept / list_kept:.1f}× the list (a `bytes` object per entry + table)"],
    ], align="lrrl")
    stage_rows = [[name, report.stats_ms(stats)] for name, stats in stages]
    stage_rows.append(["**`RevocationList.from_cose` end to end**", report.stats_ms(load)])
    lookups = report.table(
        ["lookup", "`frozenset` ns, median (min)", "`RevocationList` ns, median (min)",
         "ratio, median (min/min)"],
        [[label, report.stats_ns(c.baseline), report.stats_ns(c.candidate), report.ratios(c)]
         for label, c in (
             ("revoked entry (`contains_hash`)", present),
             ("not revoked (`contains_hash`)", absent),
             (f"not revoked, {POOL:,} entries in turn (cache misses)", cold),
             ("`cti in list`: `entry_hash(cti)` + lookup, not revoked", full))])
    body = "\n".join([
        f"### Revocation list: {ENTRIES:,} revoked credentials",
        "",
        f"{ENTRIES:,} random {CTI_LENGTH}-byte `cti`s, encoded (`encode_payload`: "
        f"{HASH_BYTES}-byte truncated SHA-256, sorted) and signed by a bench issuer "
        f"(`sign_cose`, ES256); publishing took {publish:.1f} s (once, issuer side). Memory "
        "from `tracemalloc`.",
        "",
        sizes,
        "",
        "Loading: parse, signature check, strict payload check (sorted, no duplicates) and "
        "prefix index, each stage timed alone (ms, median (min)):",
        "",
        report.table(["stage", "ms"], stage_rows),
        "",
        "Membership, interleaved with the baseline round by round:",
        "",
        lookups,
        "",
        f"Per code, the verifier pays `Revocations.is_revoked(iss, cti)`: "
        f"**{_us2(per_check.median)} µs** (min {_us2(per_check.best)}), next to "
        f"{report.stats_us(verify_time)} µs for "
        f"`verify()` itself ({per_check.median / verify_time.median:.0%}).",
    ])
    summary = [
        [f"revocation list, {ENTRIES:,} entries: signed file size",
         f"{size:,} bytes ({_mb(size)} MB)", f"target ≤ {SIZE_TARGET:,}: {met}"],
        [f"revocation list, {ENTRIES:,} entries: load (verify + index)",
         f"{report.ms(load.median)} ms", ""],
        ["revocation lookup, not revoked: vs `frozenset`", report.ratios(absent),
         f"{_us2(absent.candidate.median)} µs; {set_kept / list_kept:.1f}× less memory"],
        ["revocation check per code (`is_revoked`)", f"{_us2(per_check.median)} µs",
         f"{per_check.median / verify_time.median:.0%} of a `verify()`"],
    ]
    return report.Section(body, summary)


def _load_stages(signed: bytes, listed: RevocationList, trust, settings: Settings
                 ) -> list[tuple[str, Stats]]:
    """Time each stage of ``from_cose`` alone: ``(stage, stats)`` in the order it runs them."""
    sign1 = decode_sign1(signed)
    key = trust.keys[listed.kid]
    message = sig_structure(sign1.protected, sign1.payload)

    def construct() -> RevocationList:
        return RevocationList(iss=listed.iss, sequence=listed.sequence,
                              issued_at=listed.issued_at, expires_at=listed.expires_at,
                              kid=listed.kid, digest=listed.digest, count=listed.count,
                              hashes=listed.hashes)

    stages: list[tuple[str, Callable[[], object]]] = [
        ("COSE_Sign1 decode (`decode_sign1`)", lambda: decode_sign1(signed)),
        ("Sig_structure built (a copy of the payload)",
         lambda: sig_structure(sign1.protected, sign1.payload)),
        ("signature check: SHA-256 of the Sig_structure + ECDSA verify",
         lambda: verify_signature(key.public_key, key.alg, message, sign1.signature)),
        ("payload decode (`loads_strict`)", lambda: loads_strict(sign1.payload, "payload")),
        ("sorted-and-unique check + prefix index (`RevocationList(...)`)", construct),
        ("file digest (SHA-256 of the file)", lambda: hashlib.sha256(signed).hexdigest()),
    ]
    return [(name, measure(fn, settings)) for name, fn in stages]
