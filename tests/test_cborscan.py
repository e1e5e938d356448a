"""The CBOR a verifier reads (verifier/cborscan.py): what the scan lets through to cbor2, what it
refuses, and that codes and lists outside it are malformed wherever the bytes come from."""

from __future__ import annotations

import datetime

import cbor2
import pytest
from conftest import NOW
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import sign_cose, sign_raw
from verifier import Reason, RevocationList, VerificationError, verify
from verifier.base45 import b45decode, b45encode
from verifier.cborscan import MAX_DEPTH, CborRefused, scan
from verifier.cose import encode_protected, encode_sign1, loads_strict, sig_structure
from verifier.errors import RevocationListError
from verifier.keys import alg_for, kid_for
from verifier.labels import CREDENTIAL_PREFIX
from verifier.presentation import cnf_for, holder_key

ACCEPTED = {
    "uint": "17", "uint, non-shortest heads": "1b0000000000000011",
    "max uint64": "1bffffffffffffffff",
    "min negative": "3bffffffffffffffff", "bytes": "43010203", "text": "62485a",
    "indefinite bytes": "5f4101420203ff", "indefinite text": "7f6148615aff",
    "empty indefinite text": "7fff", "array": "83010203", "indefinite array": "9f0102ff",
    "map": "a20102613102", "indefinite map": "bf0102ff", "false true null undefined": "84f4f5f6f7",
    "floats": "83f93c00fa3fc00000fb3ff8000000000000", "nan": "f97e00",
    "text and int keys alike": "a26131010101",
    "non-shortest key heads, distinct": "a218010119000202",
    "nesting at the limit": "81" * MAX_DEPTH + "00",
}

REFUSED = {
    "tag 1 (epoch date)": "c11a6a8d6e80", "tag 2 (bignum)": "c249010000000000000000",
    "tag 0 (date text)": "c074323032362d31312d31385431303a30303a30305a",
    "tag 28/29 (shared reference)": "d81c81d81d00", "tag 55799 (self-described)": "d9d9f700",
    "tag 18 where none is allowed": "d28400a04040", "simple value 16": "f0",
    "simple value, 1-byte form": "f820", "reserved simple 28": "fc", "reserved int info": "1c",
    "indefinite integer": "1f", "break outside an indefinite item": "ff",
    "break as a map value": "bf01ffff", "nested indefinite string": "5f5f4101ffff",
    "text chunk in a byte string": "5f6161ff", "duplicate int key": "a201010102",
    "duplicate key, non-shortest head": "a20101180102", "duplicate text key": "a2617801617802",
    "duplicate text key, chunked": "a2627879017f61786179ff02", "float key": "a1f93c0001",
    "bool key": "a1f501", "null key": "a1f601", "byte-string key": "a1410101",
    "array key": "a1800101", "map key": "a1a00101", "tagged key": "a1c10001",
    "nesting beyond the limit": "81" * (MAX_DEPTH + 1) + "00", "truncated": "8301",
    "trailing bytes": "0000", "empty": "", "huge length": "5b0000000100000000",
}


@pytest.mark.parametrize("hexdata", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_language_is_accepted_and_cbor2_reads_it(hexdata):
    data = bytes.fromhex(hexdata)
    scan(data)
    assert loads_strict(data, "test") == cbor2.loads(data) or hexdata == "f97e00"


@pytest.mark.parametrize("hexdata", REFUSED.values(), ids=REFUSED.keys())
def test_anything_else_is_refused_before_cbor2(hexdata):
    data = bytes.fromhex(hexdata)
    with pytest.raises(CborRefused):
        scan(data)
    with pytest.raises(VerificationError) as caught:
        loads_strict(data, "test")
    assert caught.value.reason is Reason.MALFORMED


def test_tag_18_only_around_the_outermost_item():
    scan(bytes.fromhex("d28400a04040"), 18)
    scan(bytes.fromhex("d8128400a04040"), 18)  # any head length, as for integers
    for data in ("d28400a0d2404040", "81d280", "d180", "c0d280", "d2d280"):
        with pytest.raises(CborRefused):
            scan(bytes.fromhex(data), 18)


def test_inner_tags_only_where_the_caller_lists_them():
    """A foreign format's payload may carry date tags (0, 1) inside; never as a map key, never
    a tag the caller did not list, and each tag is a level of nesting."""
    dates = frozenset((0, 1))
    for data in ("c11a6a8d6e80", "a16173c06131", "81c1c000", "d8018100"):
        scan(bytes.fromhex(data), inner_tags=dates)
        with pytest.raises(CborRefused):
            scan(bytes.fromhex(data))
    for data in ("a1c10001", "81c249010000000000000000", "c2c000"):
        with pytest.raises(CborRefused):
            scan(bytes.fromhex(data), inner_tags=dates)
    scan(bytes.fromhex("c1" * MAX_DEPTH + "00"), inner_tags=dates)
    with pytest.raises(CborRefused):
        scan(bytes.fromhex("c1" * (MAX_DEPTH + 1) + "00"), inner_tags=dates)


# ---- where the bytes come from ----

def _forge_unprotected(cose: bytes, unprotected: str) -> str:
    assert cose[16] == 0xA0  # the canonical layout's empty unprotected header
    return CREDENTIAL_PREFIX + b45encode(cose[:16] + bytes.fromhex(unprotected) + cose[17:])


@pytest.fixture(scope="module")
def cose(make_code) -> bytes:
    return b45decode(make_code()[len(CREDENTIAL_PREFIX):])


def _reason(text, trust) -> Reason:
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now=NOW + 60)
    return caught.value.reason


@pytest.mark.parametrize("unprotected", [
    "a205010502",  # the same key twice
    "a20501180502",  # the same key twice, one head longer
    "a1f93c0001",  # a float key (1.0, which Python finds under 1)
    "a1f501",  # True as a key
])
def test_unsigned_header_outside_the_language_is_malformed(cose, trust, unprotected):
    """Nobody signs the unprotected header: these verified before (cbor2 read them)."""
    verify(_forge_unprotected(cose, "a1056161"), trust, now=NOW + 60)  # a plain one is fine
    assert _reason(_forge_unprotected(cose, unprotected), trust) \
        is Reason.MALFORMED


def _signed(signing, claims: bytes) -> str:
    key, _ = signing
    public = key.public_key()
    protected = encode_protected(alg_for(public), kid_for(public))
    signature = sign_raw(key, sig_structure(protected, claims))
    return CREDENTIAL_PREFIX + b45encode(encode_sign1(protected, claims, signature))


def _claims(signing) -> dict:
    return {1: signing[1].iss, 6: NOW, 4: NOW + 3600, 7: bytes(12), -65537: {1: 0, 2: 90}}


def test_a_tag_in_signed_claims_is_malformed_not_invalid_claims(signing, trust):
    """cbor2 made a datetime of tag 1, which failed the claim check (invalid_claims); the
    format has no tags in claims: the payload is not ours at all."""
    verify(_signed(signing, cbor2.dumps(_claims(signing))), trust, now=NOW + 60)
    for tagged in (cbor2.CBORTag(1, NOW), datetime.datetime.fromtimestamp(NOW, datetime.UTC),
                   cbor2.CBORTag(2, NOW.to_bytes(4, "big"))):
        text = _signed(signing, cbor2.dumps({**_claims(signing), 6: tagged}))
        assert _reason(text, trust) is Reason.MALFORMED


def test_a_claim_key_twice_is_malformed(signing, trust):
    """cbor2 kept the last of two equal keys: a signed code could say two things."""
    body = cbor2.dumps(_claims(signing))
    assert body[0] == 0xA5
    twice = b"\xa6" + body[1:] + cbor2.dumps(6) + cbor2.dumps(NOW - 10)
    assert _reason(_signed(signing, twice), trust) is Reason.MALFORMED


def test_a_cnf_label_that_only_equals_an_int_is_invalid(signing):
    """2.0 == 2 and True == 1 in Python: a cnf key's kty and crv must be the integers."""
    x = cbor2.loads(cbor2.dumps(cnf_for(ec.generate_private_key(ec.SECP256R1()).public_key())))
    holder_key(x)
    for label, lookalike in ((1, 2.0), (-1, True)):
        cnf = {1: {**x[1], label: lookalike}}
        with pytest.raises(VerificationError) as caught:
            holder_key(cnf)
        assert caught.value.reason is Reason.INVALID_CLAIMS


def test_a_revocation_list_with_a_tag_is_malformed(signing, trust):
    key, config = signing
    doc = {"typ": "healthcode-revocations", "ver": 1, "iss": config.iss, "seq": 1,
           "iat": NOW, "exp": NOW + 3600, "width": 7, "hashes": b""}
    RevocationList.from_cose(sign_cose(key, cbor2.dumps(doc)), trust)
    with pytest.raises(RevocationListError) as caught:
        RevocationList.from_cose(sign_cose(key, cbor2.dumps({**doc, "seq": cbor2.CBORTag(
            2, b"\x01")})), trust)
    assert caught.value.reason is Reason.REVOCATION_LIST_MALFORMED
