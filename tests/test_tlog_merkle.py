"""verifier.tlog.merkle: RFC 9162 hashing and proofs, against transparency-dev/merkle's vectors,
the RFC's own worked example, and properties over random trees."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from vectorlib import load

from verifier.tlog import merkle
from verifier.tlog.errors import TlogError, TlogReason

TREE = load("tlog/tree.json")
LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in TREE["leaves_hex"]]


def _b64(value):
    return base64.b64decode(value) if value is not None else None


@pytest.mark.parametrize("vector", TREE["hashes"], ids=lambda v: v["desc"])
def test_hashes(vector):
    if vector["kind"] == "empty":
        got = merkle.root_hash([])
    elif vector["kind"] == "leaf":
        got = merkle.leaf_hash(bytes.fromhex(vector["data_hex"]))
    else:
        got = merkle.node_hash(bytes.fromhex(vector["left_hex"]),
                               bytes.fromhex(vector["right_hex"]))
    assert got.hex() == vector["want"]


def test_the_reference_tree_node_by_node_and_every_root():
    for level, nodes in enumerate(TREE["node_hashes"]):
        for index, want in enumerate(nodes):
            span = 1 << level
            assert merkle.root_hash(LEAVES[index * span:(index + 1) * span]).hex() == want
    assert [merkle.root_hash(LEAVES[:n]).hex() for n in range(9)] == TREE["roots"]


def _outcome(fn):
    try:
        fn()
    except TlogError as error:
        return error.reason
    return None


#: transparency-dev accepts these; we refuse hashes that are not 32 bytes ("ZG9uJ3Qg…" is 12).
STRICTER = {"sizes are equal (one) and proof is empty"}


@pytest.mark.parametrize("probe", load("tlog/merkle-inclusion.json"),
                         ids=lambda p: p["source"].split("testdata/")[1])
def test_inclusion_vectors(probe):
    proof = [_b64(p) for p in probe["proof"] or []]
    reason = _outcome(lambda: merkle.verify_inclusion(
        _b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], proof, _b64(probe["root"])))
    assert (reason is not None) == probe["wantErr"], reason


@pytest.mark.parametrize("probe", load("tlog/merkle-consistency.json"),
                         ids=lambda p: p["source"].split("testdata/")[1])
def test_consistency_vectors(probe):
    proof = [_b64(p) for p in probe["proof"] or []]
    reason = _outcome(lambda: merkle.verify_consistency(
        probe["size1"], probe["size2"], _b64(probe["root1"]), _b64(probe["root2"]), proof))
    if probe["desc"] in STRICTER:
        assert reason is TlogReason.BAD_HASH
    else:
        assert (reason is not None) == probe["wantErr"], reason


def test_the_happy_vectors_are_also_what_we_generate():
    """Our generator gives the reference's proofs (the vectors' happy paths, tree of 8)."""
    for probe in load("tlog/merkle-inclusion.json"):
        if probe["desc"] == "happy path" and probe["treeSize"] <= 8:
            want = [_b64(p) for p in probe["proof"] or []]
            assert merkle.inclusion_proof(probe["leafIdx"], probe["treeSize"], LEAVES) == want
    for probe in load("tlog/merkle-consistency.json"):
        if probe["desc"] == "happy path" and probe["size2"] <= 8:
            want = [_b64(p) for p in probe["proof"] or []]
            assert merkle.consistency_proof(probe["size1"], probe["size2"], LEAVES) == want


# RFC 9162 §2.1.5: the tree of seven leaves d0..d6, its nodes named by letter.
def _rfc_tree():
    d = [merkle.leaf_hash(f"d{i}".encode()) for i in range(7)]
    a, b, c, dd, e, f = d[:6]
    g, h, i, j = (merkle.node_hash(a, b), merkle.node_hash(c, dd), merkle.node_hash(e, f), d[6])
    k, lnode = merkle.node_hash(g, h), merkle.node_hash(i, j)
    return d, {"a": a, "b": b, "c": c, "d": dd, "e": e, "f": f, "g": g, "h": h, "i": i,
               "j": j, "k": k, "l": lnode}


@pytest.mark.parametrize(("index", "names"), [(0, "bhl"), (3, "cgl"), (4, "fjk"), (6, "ik")])
def test_rfc9162_example_inclusion_paths(index, names):
    leaves, node = _rfc_tree()
    assert merkle.inclusion_proof(index, 7, leaves) == [node[n] for n in names]


@pytest.mark.parametrize(("old", "names"), [(3, "cdgl"), (4, "l"), (6, "ijk")])
def test_rfc9162_example_consistency_proofs(old, names):
    leaves, node = _rfc_tree()
    proof = merkle.consistency_proof(old, 7, leaves)
    assert proof == [node[n] for n in names]
    merkle.verify_consistency(old, 7, merkle.root_hash(leaves[:old]), merkle.root_hash(leaves),
                              proof)


H = bytes(32)


@pytest.mark.parametrize(("call", "reason"), [
    (lambda: merkle.verify_inclusion(H, 0, 0, [], H), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_inclusion(H, 1, 1, [], H), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_inclusion(H, -1, 4, [H, H], H), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_inclusion(H, True, 4, [H, H], H), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_inclusion(H, 0, 2**64, [H] * 64, H), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_inclusion(H[:31], 0, 2, [H], H), TlogReason.BAD_HASH),
    (lambda: merkle.verify_inclusion(H, 0, 2, [H + b"x"], H), TlogReason.BAD_HASH),
    (lambda: merkle.verify_inclusion(H, 0, 2, [H], "root"), TlogReason.BAD_HASH),
    (lambda: merkle.verify_inclusion(H, 0, 2, [bytearray(H)], H), TlogReason.BAD_HASH),
    (lambda: merkle.verify_inclusion(H, 0, 2, None, H), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_inclusion(H, 0, 2, [], H), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_inclusion(H, 0, 2, [H, H], H), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_inclusion(H, 0, 2**64 - 1, [H] * 65, H), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_consistency(0, 4, H, H, []), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_consistency(5, 4, H, H, [H]), TlogReason.BAD_INDEX),
    (lambda: merkle.verify_consistency(2, 4, H, H, []), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_consistency(3, 4, H, H, [H] * 9), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_consistency(4, 4, H, H, [H]), TlogReason.BAD_PROOF),
    (lambda: merkle.verify_consistency(4, 4, H, b"\1" * 32, []), TlogReason.INCONSISTENT),
    (lambda: merkle.verify_consistency(1, 2, H, H, [b""]), TlogReason.BAD_HASH),
    (lambda: merkle.inclusion_proof(4, 4, [H] * 4), TlogReason.BAD_INDEX),
    (lambda: merkle.inclusion_proof(0, 5, [H] * 4), TlogReason.BAD_INDEX),
    (lambda: merkle.consistency_proof(0, 4, [H] * 4), TlogReason.BAD_INDEX),
])
def test_untrusted_input_is_refused_with_a_reason(call, reason):
    with pytest.raises(TlogError) as caught:
        call()
    assert caught.value.reason is reason


def _leaves(n):
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_generated_inclusion_proofs_verify(case):
    size, index = case
    leaves = _leaves(size)
    proof = merkle.inclusion_proof(index, size, leaves)
    assert len(proof) == merkle.inclusion_proof_size(index, size)
    merkle.verify_inclusion(leaves[index], index, size, proof, merkle.root_hash(leaves))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_generated_consistency_proofs_verify(case):
    old, new = case
    leaves = _leaves(new)
    proof = merkle.consistency_proof(old, new, leaves)
    merkle.verify_consistency(old, new, merkle.root_hash(leaves[:old]), merkle.root_hash(leaves),
                              proof)


def _inclusion_shape(index, size):
    """Which side each proof hash joins on. An inclusion proof alone does not bind the tree
    size: two sizes that give the leaf the same path verify alike (index 0 in 65 and 66
    leaves), which is why the size and the root come together in a signed checkpoint."""
    if not 0 <= index < size <= merkle.MAX_TREE_SIZE:
        return None
    return [start < index for start, _ in merkle.inclusion_ranges(index, size)]


def _consistency_shape(old, new):
    if not 0 < old <= new:
        return None
    return ([(start < old, end <= old) for start, end in merkle.consistency_ranges(old, new)],
            old & (old - 1) == 0)


def _flip(value: bytes, bit: int) -> bytes:
    return value[:bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1:]


@settings(max_examples=200, deadline=None)
@given(size=st.integers(2, 200), data=st.data())
def test_any_change_to_an_inclusion_proof_is_refused(size, data):
    index = data.draw(st.integers(0, size - 1))
    leaves = _leaves(size)
    root = merkle.root_hash(leaves)
    proof = merkle.inclusion_proof(index, size, leaves)
    change = data.draw(st.sampled_from(["proof", "leaf", "root", "index", "size", "drop", "add"]))
    leaf = leaves[index]
    if change == "proof" and proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        proof[at] = _flip(proof[at], data.draw(st.integers(0, 255)))
    elif change == "leaf":
        leaf = _flip(leaf, data.draw(st.integers(0, 255)))
    elif change == "root":
        root = _flip(root, data.draw(st.integers(0, 255)))
    elif change == "index":
        changed = data.draw(st.integers(0, size + 5).filter(lambda i: i != index))
        assume(_inclusion_shape(changed, size) != _inclusion_shape(index, size))
        index = changed
    elif change == "size":
        changed = data.draw(st.integers(0, 2 * size + 5).filter(lambda s: s != size))
        assume(_inclusion_shape(index, changed) != _inclusion_shape(index, size))
        size = changed
    elif change == "drop" and proof:
        del proof[data.draw(st.integers(0, len(proof) - 1))]
    else:
        proof.insert(data.draw(st.integers(0, len(proof))), leaves[0])
    with pytest.raises(TlogError):
        merkle.verify_inclusion(leaf, index, size, proof, root)


@settings(max_examples=200, deadline=None)
@given(new=st.integers(2, 200), data=st.data())
def test_any_change_to_a_consistency_proof_is_refused(new, data):
    old = data.draw(st.integers(1, new - 1))
    leaves = _leaves(new)
    old_root, new_root = merkle.root_hash(leaves[:old]), merkle.root_hash(leaves)
    proof = merkle.consistency_proof(old, new, leaves)
    change = data.draw(st.sampled_from(["proof", "old_root", "new_root", "old", "new", "drop",
                                        "add"]))
    if change == "proof":
        at = data.draw(st.integers(0, len(proof) - 1))
        proof[at] = _flip(proof[at], data.draw(st.integers(0, 255)))
    elif change == "old_root":
        old_root = _flip(old_root, data.draw(st.integers(0, 255)))
    elif change == "new_root":
        new_root = _flip(new_root, data.draw(st.integers(0, 255)))
    elif change == "old":
        changed = data.draw(st.integers(0, new + 3).filter(lambda s: s != old))
        assume(_consistency_shape(changed, new) != _consistency_shape(old, new))
        old = changed
    elif change == "new":
        changed = data.draw(st.integers(0, 2 * new).filter(lambda s: s != new))
        assume(_consistency_shape(old, changed) != _consistency_shape(old, new))
        new = changed
    elif change == "drop":
        del proof[data.draw(st.integers(0, len(proof) - 1))]
    else:
        proof.insert(data.draw(st.integers(0, len(proof))), leaves[0])
    with pytest.raises(TlogError):
        merkle.verify_consistency(old, new, old_root, new_root, proof)


def test_a_rewritten_history_is_inconsistent():
    leaves = _leaves(50)
    forged = leaves[:]
    forged[7] = hashlib.sha256(b"edited").digest()
    proof = merkle.consistency_proof(20, 50, forged)
    with pytest.raises(TlogError) as caught:
        merkle.verify_consistency(20, 50, merkle.root_hash(leaves[:20]),
                                  merkle.root_hash(forged), proof)
    assert caught.value.reason is TlogReason.INCONSISTENT


def test_proofs_from_a_subtree_function_match_proofs_from_the_list():
    leaves = _leaves(77)
    calls = []

    def subtree(start, end):
        calls.append((start, end))
        return merkle.root_hash(leaves[start:end])

    assert merkle.inclusion_proof(30, 77, subtree) == merkle.inclusion_proof(30, 77, leaves)
    assert merkle.consistency_proof(33, 77, subtree) == merkle.consistency_proof(33, 77, leaves)
    assert calls == merkle.inclusion_ranges(30, 77) + merkle.consistency_ranges(33, 77)
