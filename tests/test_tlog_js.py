"""tlog.js (verifier/static/verifier/, served at /shared/verifier/tlog.js) in a real headless
Chromium: every known-answer vector of tests/vectors/tlog/, and the same calls as the Python
library (verifier/tlog/) on generated data: proofs of random and of huge trees, each also with
a hash flipped, a hash dropped, another index or size; notes and checkpoints signed in Python,
tampered, under wrong, unknown or ambiguous keys, malformed or oversized. Same reason, same
value, every time (tests/tlogpage.py runs both sides)."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jsverifier import open_page
from tlogpage import PAGE, BigTree, Witness, compare, javascript, python, serve_page
from vectorlib import load

from verifier.tlog import checkpoint as cp
from verifier.tlog import cosignature, merkle, note

webcam = pytest.importorskip("webcam")
TREE = load("tlog/tree.json")
STRICTER = {"sizes are equal (one) and proof is empty"}  # as tests/test_tlog_merkle.py
EXPORTS = ["ALG_COSIGNATURE_V1", "ALG_ED25519", "HASH_SIZE", "MAX_NOTE_BYTES", "MAX_SIGNATURES",
           "TlogError", "b64decode", "b64encode", "cosignatureVerifier", "leafHash", "nodeHash",
           "noteVerifier", "openCheckpoint", "openNote", "parseCheckpoint", "parseVkey",
           "rootFromInclusionProof", "splitNote", "verifyConsistency", "verifyInclusion"]


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    yield from serve_page()


@pytest.fixture(scope="module")
def page(origin, playwright, tmp_path_factory) -> Iterator[object]:
    with open_page(playwright, origin + PAGE, tmp_path_factory.mktemp("tlog")) as page:
        page.origin = origin
        yield page


def _same(page, calls, *expected_reasons):
    """Run ``calls`` in both libraries: same answers, and among them the ``expected_reasons``
    (None: accepted). Also: no error on the page, no request off 127.0.0.1."""
    mismatches, reasons = compare(page, calls)
    assert mismatches == [], mismatches[:5]
    assert set(expected_reasons) <= set(reasons), reasons
    assert page.errors == []
    assert all(url.startswith(page.origin + "/") for url in page.asked), page.asked
    return reasons


def _b64(value):
    return base64.b64decode(value) if value is not None else None


def test_the_module_exports_its_api(page):
    assert page.evaluate("Object.keys(tl.t).sort()") == EXPORTS
    assert page.evaluate("""[new tl.t.TlogError("bad_proof", "why") instanceof Error,
        new tl.t.TlogError("bad_proof").reason, tl.t.HASH_SIZE,
        tl.t.b64encode(tl.t.b64decode("AAE=")), tl.t.b64decode("").length]""") == [
        True, "bad_proof", 32, "AAE=", 0]
    for text in ("AAF=", "AAE", "AA E=", "AAE=\\n", "-_8="):
        assert page.evaluate(f"""(() => {{ try {{ tl.t.b64decode("{text}", "bad_key"); }}
            catch (e) {{ return e.reason; }} }})()""") == "bad_key"


def test_the_tree_vectors(page):
    calls, want = [], []
    for vector in TREE["hashes"]:
        if vector["kind"] == "leaf":  # "empty": MTH of no leaves; tlog.js has no root_hash
            calls.append(("leafHash", (bytes.fromhex(vector["data_hex"]),)))
        elif vector["kind"] == "node":
            calls.append(("nodeHash", (bytes.fromhex(vector["left_hex"]),
                                       bytes.fromhex(vector["right_hex"]))))
        else:
            continue
        want.append(vector["want"])
    nodes = TREE["node_hashes"]
    calls += [("leafHash", (bytes.fromhex(x),)) for x in TREE["leaves_hex"]]
    want += nodes[0]
    for level in range(1, len(nodes)):
        below = [bytes.fromhex(h) for h in nodes[level - 1]]
        calls += [("nodeHash", (below[2 * i], below[2 * i + 1])) for i in range(len(nodes[level]))]
        want += nodes[level]
    leaves = [bytes.fromhex(h) for h in nodes[0]]
    for size in range(1, 9):
        proof = merkle.inclusion_proof(size - 1, size, leaves)
        calls.append(("rootFromInclusionProof", (size - 1, size, leaves[size - 1], proof)))
        want.append(TREE["roots"][size])
    assert [r["value"]["hex"] for r in javascript(page, calls)] == want
    _same(page, calls)


def test_the_merkle_vectors(page):
    calls, wanted = [], []
    for probe in load("tlog/merkle-inclusion.json"):
        calls.append(("verifyInclusion", (_b64(probe["leafHash"]), probe["leafIdx"],
                                          probe["treeSize"],
                                          [_b64(p) for p in probe["proof"] or []],
                                          _b64(probe["root"]))))
        wanted.append(probe["wantErr"])
    for probe in load("tlog/merkle-consistency.json"):
        calls.append(("verifyConsistency", (probe["size1"], probe["size2"], _b64(probe["root1"]),
                                            _b64(probe["root2"]),
                                            [_b64(p) for p in probe["proof"] or []])))
        wanted.append("bad_hash" if probe["desc"] in STRICTER else probe["wantErr"])
    got = [r["reason"] for r in javascript(page, calls)]
    assert [reason if want == "bad_hash" else reason is not None
            for reason, want in zip(got, wanted, strict=True)] == wanted
    assert len(calls) == 196
    _same(page, calls, None, "bad_proof", "bad_index", "inconsistent", "bad_hash")


def _leaves(n):
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def _flip(value: bytes, rng: random.Random) -> bytes:
    bit = rng.randrange(8 * len(value))
    return value[:bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1:]


def _inclusion_calls(rng, index, size, leaf, proof, root, limit):
    """The proof, and the proof with a hash flipped, with one dropped, at another index and
    for another size (anything up to ``limit``)."""
    calls = [("verifyInclusion", (leaf, index, size, proof, root)),
             ("rootFromInclusionProof", (index, size, leaf, proof)),
             ("verifyInclusion", (leaf, rng.randrange(limit), size, proof, root)),
             ("verifyInclusion", (leaf, index, rng.randrange(limit), proof, root))]
    if proof:
        at = rng.randrange(len(proof))
        calls += [("verifyInclusion", (leaf, index, size,
                                       proof[:at] + [_flip(proof[at], rng)] + proof[at + 1:],
                                       root)),
                  ("verifyInclusion", (leaf, index, size, proof[:at] + proof[at + 1:], root))]
    return calls


def _consistency_calls(rng, old, new, old_root, new_root, proof, limit):
    calls = [("verifyConsistency", (old, new, old_root, new_root, proof)),
             ("verifyConsistency", (rng.randrange(limit), new, old_root, new_root, proof)),
             ("verifyConsistency", (old, rng.randrange(limit), old_root, new_root, proof))]
    if proof:
        at = rng.randrange(len(proof))
        calls += [("verifyConsistency", (old, new, old_root, new_root,
                                         proof[:at] + [_flip(proof[at], rng)] + proof[at + 1:])),
                  ("verifyConsistency", (old, new, old_root, new_root,
                                         proof[:at] + proof[at + 1:]))]
    return calls


def test_proofs_of_random_trees(page):
    """Every proof of the trees of 1..64 leaves, a sample of those of 65..300, and each one
    broken four ways."""
    rng = random.Random(9162)
    leaves = _leaves(300)
    roots = [merkle.root_hash(leaves[:n]) for n in range(301)]
    calls = []
    for size in range(1, 301):
        picks = range(size) if size <= 64 else {0, size - 1, *rng.sample(range(size), 3)}
        for index in sorted(picks):
            calls += _inclusion_calls(rng, index, size, leaves[index],
                                      merkle.inclusion_proof(index, size, leaves), roots[size],
                                      2 * size + 2)
        olds = range(1, size + 1) if size <= 64 else {1, size - 1, size,
                                                      *rng.sample(range(1, size), 3)}
        for old in sorted(olds):
            calls += _consistency_calls(rng, old, size, roots[old], roots[size],
                                        merkle.consistency_proof(old, size, leaves), 2 * size + 2)
    reasons = _same(page, calls, None, "bad_proof", "bad_index", "inconsistent")
    assert reasons[None] > 4000, reasons


HUGE = [2**31 - 1, 2**31 + 5, 2**32 + 7, 2**40 + 1_234_567, 2**53 - 1]


def test_proofs_of_huge_trees(page):
    """Sizes and indexes past 2^31, 2^32 and up to 2^53-1: exact arithmetic, no 32-bit
    operators. The trees are real (every leaf is defined), proofs made by the Python library."""
    rng = random.Random(253)
    calls = []
    for size in HUGE:
        indexes = sorted({i for i in (0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32 + 3, size // 3,
                                      size - 2, size - 1) if 0 <= i < size})
        olds = sorted({m for m in (1, 2**31 - 1, 2**31, 2**31 + 1, 2**32, size // 3, size - 1,
                                   size) if 0 < m <= size})
        tree = BigTree(size, {i: hashlib.sha256(str(i).encode()).digest()
                              for j in indexes + olds for i in (j - 1, j) if 0 <= i < size})
        for index in indexes:
            calls += _inclusion_calls(rng, index, size, tree.leaf(index),
                                      merkle.inclusion_proof(index, size, tree), tree.root(),
                                      size + 1)
            if size < 2**53 - 1:  # an inclusion proof does not bind the size: maybe accepted
                calls.append(("verifyInclusion", (tree.leaf(index), index, size + 1,
                                                  merkle.inclusion_proof(index, size, tree),
                                                  tree.root())))
        for old in olds:
            calls += _consistency_calls(rng, old, size, tree.root(old), tree.root(),
                                        merkle.consistency_proof(old, size, tree), size + 1)
    reasons = _same(page, calls, None, "bad_proof", "bad_index", "inconsistent")
    assert reasons[None] >= 60, reasons


H = bytes(32)


def test_inputs_that_are_not_numbers_or_hashes(page):
    """The refusals of tests/test_tlog_merkle.py that JSON can carry, and the ones of JS only:
    an index that is not a safe integer is bad_index, a proof longer than any path bad_proof."""
    calls = [
        ("verifyInclusion", (H, 0, 0, [], H)), ("verifyInclusion", (H, 1, 1, [], H)),
        ("verifyInclusion", (H, -1, 4, [H, H], H)), ("verifyInclusion", (H[:31], 0, 2, [H], H)),
        ("verifyInclusion", (H, 0, 2, [H + b"x"], H)), ("verifyInclusion", (H, 0, 2, [H], "r")),
        ("verifyInclusion", (H, 0, 2, None, H)), ("verifyInclusion", (H, 0, 2, [], H)),
        ("verifyInclusion", (H, 0, 2, [H, H], H)), ("verifyInclusion", (H, 0, 2, [None], H)),
        ("verifyInclusion", (H, 0, 2**53 - 1, [H] * 65, H)),
        ("verifyInclusion", (H, 0, 2**53 - 1, [H] * 10_000, H)),
        ("verifyConsistency", (0, 4, H, H, [])), ("verifyConsistency", (5, 4, H, H, [H])),
        ("verifyConsistency", (2, 4, H, H, [])), ("verifyConsistency", (3, 4, H, H, [H] * 9)),
        ("verifyConsistency", (4, 4, H, H, [H])), ("verifyConsistency", (4, 4, H, b"\1" * 32, [])),
        ("verifyConsistency", (1, 2, H, H, [b""])),
        ("verifyConsistency", (1, 2**53 - 1, H, H, [H] * 99)),
    ]
    _same(page, calls, "bad_index", "bad_hash", "bad_proof", "inconsistent")
    js_only = [("verifyInclusion", (H, 0, 2**53, [H] * 53, H)),
               ("verifyInclusion", (H, 0.5, 2, [H], H)), ("verifyInclusion", (H, "0", 2, [H], H)),
               ("verifyInclusion", (H, 0, 2.5, [H], H)), ("verifyInclusion", (H, True, 2, [H], H)),
               ("verifyConsistency", (1, 2**64 - 1, H, H, [H] * 64)),
               ("rootFromInclusionProof", (None, 2, H, [H]))]
    assert {r["reason"] for r in javascript(page, js_only)} == {"bad_index"}
    assert [r["reason"] for r in javascript(page, [
        ("verifyInclusion", ([0] * 32, 0, 2, [H], H)), ("leafHash", ("text",)),
        ("nodeHash", (H, None)), ("verifyConsistency", (1, 2, H, H, "proof"))])] == [
        "bad_hash", "bad_hash", "bad_hash", "bad_proof"]


# ---- notes, checkpoints, cosignatures ----

NOTES = load("tlog/note.json")
CHECKPOINTS = load("tlog/checkpoint.json")
COSIG = load("tlog/cosignature.json")


def test_the_note_vectors(page):
    keys = NOTES["keys"]
    calls = [("parseVkey", (vkey, note.ALG_ED25519)) for vkey in keys.values()]
    calls += [("parseVkey", (v["vkey"], note.ALG_ED25519)) for v in NOTES["bad_vkeys"]]
    calls += [("openNote", (bytes.fromhex(v["note_hex"]) if "note_hex" in v else v["note"],
                            [keys[k] for k in v["known"]])) for v in NOTES["open"]]
    calls += [("openNote", (v["want"], [keys[v["signer"]]])) for v in NOTES["sign"]]
    got = javascript(page, calls)
    assert [f"{g['value']['keyId']:08x}" for g in got[:len(keys)]] == [
        vkey.split("+")[1] for vkey in keys.values()]
    got = got[len(keys):]
    assert [g["reason"] for g in got[:len(NOTES["bad_vkeys"])]] == ["bad_key"] * 2
    for vector, answer in zip(NOTES["open"] + NOTES["sign"], got[2:], strict=True):
        if "reason" in vector:
            assert answer["reason"] == vector["reason"], vector["desc"]
            continue
        opened = answer["value"]
        assert opened["text"] == vector["text"], vector["desc"]
        if "verified" in vector:
            assert [s["name"] for s in opened["signatures"]] == vector["verified"]
            assert [s["name"] for s in opened["unverified"]] == vector["unverified"]
    _same(page, calls, None, "bad_key", "bad_note", "bad_signature", "unknown_key")


def test_every_mangling_of_a_vkey_is_read_alike(page):
    """As sumdb/note's TestNewVerifier: every proper substring, every character changed, of a
    note key and of a witness key, each read as either type."""
    calls = []
    for vkey in (NOTES["keys"]["peter"], COSIG["witnesses"][0]["vkey"]):
        variants = {vkey[i:j] for i in range(len(vkey) + 1) for j in range(i + 1, len(vkey) + 1)}
        variants |= {vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1:] for i in range(len(vkey))}
        calls += [("parseVkey", (v, alg)) for v in sorted(variants) for alg in (1, 4)]
    calls += [("parseVkey", (v, 1)) for v in (None, 5, "", "+", "++", "a+b+", "a\u3000b+1+AQ==")]
    _same(page, calls, None, "bad_key")


def _seeded(label: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


T0 = 1_790_000_000
LOG = note.Ed25519Signer("example.org/log", _seeded("log"))
OTHER = note.Ed25519Signer("example.org/log", _seeded("other"))  # the log's name, another key
STRANGER = note.Ed25519Signer("stranger.example", _seeded("stranger"))
WITNESSES = [cosignature.CosignatureSigner(f"w{i}.example", _seeded(f"w{i}"), clock=lambda: T0)
             for i in range(3)]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _line(signer, text: str, name: str | None = None) -> str:
    """``signer``'s signature line on ``text`` (under ``name`` if given, with its key ID)."""
    return note.Signature(name or signer.name, signer.key_id,
                         signer.sign(text.encode("utf-8", "surrogatepass"))).line


def _non_canonical(line: str) -> str:
    """The line with bits set that base64 leaves over (the last character before '=')."""
    at = line.rindex("=") - 1
    return line[:at] + B64[B64.index(line[at]) ^ 1] + line[at + 1:]


def _notes() -> list[object]:
    text = "healthcode test note\nsecond line\n"
    mine, theirs = _line(LOG, text), _line(STRANGER, text)
    forged, other = _line(OTHER, text, LOG.name), _line(OTHER, text)
    filler = 65_536 - 2 - len(mine)
    notes: list[object] = [
        text + "\n" + mine, text + "\n" + mine + theirs, text + "\n" + theirs + mine,
        text.replace("second", "Second") + "\n" + mine, text + "\n" + forged,
        text + "\n" + other, text + "\n" + mine + mine, text + "\n" + mine + theirs + theirs,
        text + "\n" + mine + forged, text + "\n" + forged + mine,
        text + "\n" + _non_canonical(mine), text + "\n" + mine.replace("=\n", "\n"),
        text + "\n" + mine.replace(" ", "  ", 2), text + "\n" + mine[:-1],
        text + "\n" + mine + "\n", text + "\n" + mine.replace("\u2014 ", "\u2014"),
        text + "\n" + mine.replace("\u2014", "--"), text + "\n" + mine + "after\n",
        text + "\n" + theirs * 99 + mine, text + "\n" + theirs * 100 + mine,
        "x" * filler + "\n\n" + mine, "x" * (filler + 1) + "\n\n" + mine,
        "\u00e9" * (filler // 2) + "\n\n" + mine, "\U0001f642" * (filler // 4) + "\n\n" + mine,
        "\U0001f642" * (filler // 4 + 1) + "\n\n" + mine,
        "", None, 5, "\n\n", text, text + "\n", "\n\n" + mine, [text],
    ]
    for odd in ("\r", "\x00", "\t", "\x1f", "\x7f", "\x85", "\u2028", "\ufeff", "\ud800",
                "\udc00x", "\U0001f642", "\u0301"):
        for where in (odd + text, text.replace("\n", odd + "\n", 1)):
            notes.append(where + "\n" + _line(LOG, where))
    for name in ("a+b", "a\u3000b", "a\x85b", "a\x1cb", "a\ufeffb", "\U0001f642", "\u00e9"):
        notes.append(text + "\n" + mine + _line(STRANGER, text, name))
    notes += [n.encode("utf-8", "surrogatepass") for n in notes[:4] if isinstance(n, str)]
    notes += [b"\xef\xbb\xbf" + notes[0].encode(), b"\xff" + notes[0].encode(),
              b"\xc0\xaf" + notes[0].encode(), b"\xed\xa0\x80\n\n" + mine.encode(),
              (notes[20] + "x").encode(), b"x" * 70_000]
    return notes


def test_notes_signed_in_python(page):
    log, stranger, other = LOG.verifier.vkey, STRANGER.verifier.vkey, OTHER.verifier.vkey
    key_sets = [[log], [], [stranger], [other], [log, stranger], [log, log], ["garbage"],
                [log, Witness(WITNESSES[0].verifier.vkey, None, 0)]]
    calls = []
    for message in _notes():
        calls.append(("splitNote", (message,)))
        calls += [("openNote", (message, keys)) for keys in key_sets]
    reasons = _same(page, calls, None, "bad_note", "bad_key", "bad_signature", "unknown_key")
    assert reasons[None] > 80, reasons


ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()


def test_checkpoint_bodies(page):
    bodies = [v["body"] for v in CHECKPOINTS["valid"] + CHECKPOINTS["invalid"]]
    bodies += [f"log\n{size}\n{ROOT_B64}\n" for size in
               ("0", "00", "012", "-1", "+1", "\uff11", "1e3", " 1", "1 ", "0x10",
                                str(2**53 - 1), str(2**64), "9" * 400)]
    bodies += [f"log\n1\n{ROOT_B64}\n\n", f"log\n1\n{ROOT_B64.rstrip('=')}\n",
               f"log\n1\n{ROOT_B64}\next one\next two\n", f"log\n1\n{ROOT_B64}",
               f"log\n1\n{ROOT_B64[:-2]}E=\n", f"log\n1\n{base64.b64encode(ROOT * 2).decode()}\n",
               "log\n1\n\n", "\n\n\n", "", None]
    got = javascript(page, [("parseCheckpoint", (b,)) for b in bodies])
    for vector, answer in zip(CHECKPOINTS["valid"], got, strict=False):
        assert answer["value"] == {"origin": vector["origin"], "size": vector["size"],
                                   "root": {"hex": vector["root_hex"]},
                                   "extensions": vector["extensions"]}
    invalid = got[len(CHECKPOINTS["valid"]):len(CHECKPOINTS["valid"] + CHECKPOINTS["invalid"])]
    assert {a["reason"] for a in invalid} == {"bad_checkpoint"}
    _same(page, [("parseCheckpoint", (b,)) for b in bodies], None, "bad_checkpoint")


def test_the_cosignature_vectors(page):
    witnesses = COSIG["witnesses"]
    calls = [("openCheckpoint", (COSIG["note"], "example.org/healthcode-log",
                                 [COSIG["log"]["vkey"]], [w["vkey"] for w in witnesses], q))
             for q in (2, 3)]
    calls += [("parseVkey", (w["vkey"], alg)) for w in witnesses for alg in (4, 1)]
    got = javascript(page, calls)
    assert got[0]["value"]["witnesses"] == {w["name"]: w["timestamp"] for w in witnesses}
    assert got[0]["value"]["logKeys"] == ["example.org/healthcode-log"]
    assert got[1]["reason"] == "too_few_cosignatures"
    assert [g["value"] and f"{g['value']['keyId']:08x}" for g in got[2:]] == [
        x for w in witnesses for x in (w["key_id"], None)]
    _same(page, calls, None, "too_few_cosignatures", "bad_key")


def _cosignature(name: str, key_id: int, timestamp: int, body: str, key="w0") -> str:
    """A cosignature/v1 line signed by hand: any timestamp, any body."""
    signed = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
    raw = timestamp.to_bytes(8, "big") + _seeded(key).sign(signed)
    return note.Signature(name, key_id, raw).line


def _checkpoint_calls() -> list[tuple[str, tuple]]:
    origin = "example.org/log"
    body = cp.Checkpoint(origin, 10, ROOT).body()
    signed = note.append_signatures(cp.sign_checkpoint(cp.parse_checkpoint(body), [LOG]),
                                    WITNESSES[:2])
    text, lines = note.split_note(signed)
    logs, wit = [LOG.verifier.vkey], [w.verifier.vkey for w in WITNESSES]
    w0 = WITNESSES[0]

    def resigned(new_text: str, *extra: str) -> str:
        return note.sign_note(new_text, [LOG]) + "".join(extra)

    def with_line(index: int, raw: bytes) -> str:
        changed = [*lines[:index], note.Signature(lines[index].name, lines[index].key_id, raw),
                   *lines[index + 1:]]
        return text + "\n" + "".join(s.line for s in changed)

    raw = lines[1].signature
    notes = [
        signed, signed.encode(), text + "\n" + lines[0].line, note.sign_note(text, WITNESSES),
        signed.replace("\n10\n", "\n11\n"), with_line(1, raw[:7] + bytes([raw[7] ^ 1]) + raw[8:]),
        with_line(1, raw[:-1] + bytes([raw[-1] ^ 1])), with_line(1, raw[8:]),
        with_line(0, raw), signed + lines[1].line, signed + _line(STRANGER, text),
        resigned(cp.Checkpoint(origin, 2**53 - 1, ROOT, ("ext",)).body()),
        resigned(cp.Checkpoint("example.org/other", 10, ROOT).body()),
        resigned("example.org/log\n10\n"), resigned(origin + "\n10\nAAAA\n"),
        resigned("a\nb\n", _cosignature(w0.name, w0.key_id, T0, "a\nb\n")),
        signed + _cosignature(w0.name, w0.key_id, 2**64 - 1, text),
        signed + _cosignature(w0.name, w0.key_id, 2**63, text),
        signed + _cosignature(w0.name, w0.key_id, 2**53 - 1, text),
        signed + _cosignature(w0.name, w0.key_id, 0, text),
        signed + _cosignature(WITNESSES[2].name, WITNESSES[2].key_id, T0, text, "w2"),
        signed + _cosignature(WITNESSES[2].name, WITNESSES[2].key_id, T0, text, "w1"),
    ]
    calls = []
    for message in notes:
        calls += [("openCheckpoint", (message, origin, logs, wit, q)) for q in (0, 2, 3)]
        calls += [("openCheckpoint", (message, "example.org/other", logs, wit)),
                  ("openCheckpoint", (message, origin, logs + [OTHER.verifier.vkey])),
                  ("openCheckpoint", (message, origin, wit[:1], wit)),
                  ("openCheckpoint", (message, origin, logs, logs)),
                  ("openCheckpoint", (message, origin, logs, [wit[0], wit[0]])),
                  ("openCheckpoint", (message, origin, [], wit))]
        calls += [("openCheckpoint", (message, origin, logs, [Witness(w0.verifier.vkey, 60, now)],
                                      1)) for now in (T0 - 61, T0 - 60, T0 - 59.5)]
    return calls


def test_checkpoints_signed_and_cosigned_in_python(page):
    reasons = _same(page, _checkpoint_calls(), None, "unknown_key", "bad_checkpoint",
                    "too_few_cosignatures", "bad_signature", "bad_key")
    assert reasons[None] > 30, reasons


def test_what_only_python_takes_javascript_refuses(page):
    """Past 2^53-1, where a JS number is no longer exact: a checkpoint's size, a cosignature's
    time. Python takes both."""
    origin = "example.org/log"
    huge = [f"{origin}\n{size}\n{ROOT_B64}\n" for size in (2**53, 2**53 + 1, 2**64 - 1)]
    late = note.sign_note(cp.Checkpoint(origin, 10, ROOT).body(), [LOG])
    text = note.split_note(late)[0]
    w0 = WITNESSES[0]
    late += _cosignature(w0.name, w0.key_id, 2**53, text)
    calls = [("parseCheckpoint", (body,)) for body in huge]
    calls.append(("openCheckpoint", (late, origin, [LOG.verifier.vkey], [w0.verifier.vkey], 1)))
    assert [python(*c)["reason"] for c in calls] == [None] * 4
    assert [r["reason"] for r in javascript(page, calls)] == ["bad_checkpoint"] * 3 + [
        "bad_signature"]
