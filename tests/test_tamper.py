"""Tampering: no change to a valid code's bytes or text is ever accepted."""

import pytest
from conftest import NOW

from verifier import Reason, VerificationError, verify
from verifier.base45 import b45decode, b45encode
from verifier.labels import CREDENTIAL_PREFIX

# Reasons a single-byte change may legitimately produce (which one depends on the byte hit).
TAMPER_REASONS = {Reason.MALFORMED, Reason.BAD_SIGNATURE, Reason.UNKNOWN_KEY,
                  Reason.UNSUPPORTED_ALGORITHM}


@pytest.fixture(scope="module")
def cose(make_code) -> bytes:
    return b45decode(make_code(policy=bytes(range(8)))[len(CREDENTIAL_PREFIX):])


def _reject(text, trust) -> Reason:
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now=NOW + 60)
    return caught.value.reason


def test_untampered_code_verifies(cose, trust):
    verify(CREDENTIAL_PREFIX + b45encode(cose), trust, now=NOW + 60)


def _regions(cose: bytes) -> dict[str, range]:
    """Byte ranges of the COSE_Sign1 parts (fixed layout: tag, array head, four members)."""
    prot_len = cose[2] & 0x1F
    payload_at = 3 + prot_len + 1
    payload_head = 2 if cose[payload_at] == 0x58 else 1
    payload_len = cose[payload_at + 1] if payload_head == 2 else cose[payload_at] & 0x1F
    signature_at = payload_at + payload_head + payload_len
    return {
        "tag and array head": range(0, 2),
        "protected header": range(2, 3 + prot_len),
        "unprotected header": range(3 + prot_len, payload_at),
        "payload": range(payload_at, signature_at),
        "signature": range(signature_at, len(cose)),
    }


@pytest.mark.parametrize("region", ["tag and array head", "protected header",
                                    "unprotected header", "payload", "signature"])
def test_every_single_byte_change_is_rejected(cose, trust, region):
    """Every byte of the region, set to each of its 255 other values, is refused."""
    positions = _regions(cose)[region]
    assert len(positions) > 0
    assert sum(len(r) for r in _regions(cose).values()) == len(cose)
    reasons = set()
    for position in positions:
        for value in range(256):
            if value == cose[position]:
                continue
            tampered = bytearray(cose)
            tampered[position] = value
            reason = _reject(CREDENTIAL_PREFIX + b45encode(bytes(tampered)), trust)
            assert reason in TAMPER_REASONS, (position, value, reason)
            reasons.add(reason)
    if region in ("payload", "signature"):
        assert reasons >= {Reason.BAD_SIGNATURE}


def _swap_pair(text):
    # The first differing neighbours from the middle on (codes are random: two equal
    # neighbours swapped would give the same text back).
    body = text[len(CREDENTIAL_PREFIX):]
    i = next(j for j in range(len(body) // 2, len(body) - 1) if body[j] != body[j + 1])
    return CREDENTIAL_PREFIX + body[:i] + body[i + 1] + body[i] + body[i + 2:]


TEXT_TRANSFORMS = {
    "drop last character": lambda t: t[:-1],
    "drop last three characters": lambda t: t[:-3],
    "append three characters": lambda t: t + "000",
    "swap two middle characters": _swap_pair,
    "lower-case": str.lower,
    "prefix removed": lambda t: t[len(CREDENTIAL_PREFIX):],
    "wrong prefix version": lambda t: "HCC9:" + t[len(CREDENTIAL_PREFIX):],
    "leading space": lambda t: " " + t,
    "trailing newline": lambda t: t + "\n",
    "doubled": lambda t: t + t[len(CREDENTIAL_PREFIX):],
    "signature removed": lambda t: CREDENTIAL_PREFIX + b45encode(
        b45decode(t[len(CREDENTIAL_PREFIX):])[:-66] + b"\x40"),
}


@pytest.mark.parametrize("transform", TEXT_TRANSFORMS.values(), ids=TEXT_TRANSFORMS.keys())
def test_text_transform_is_rejected(make_code, trust, transform):
    text = make_code()
    assert _reject(transform(text), trust) in TAMPER_REASONS


def test_every_single_character_substitution_is_rejected(make_code, trust):
    """Every position of the Base45 text, changed to a few other characters."""
    text = make_code()
    for i in range(len(CREDENTIAL_PREFIX), len(text)):
        for replacement in "0Z:":
            if replacement != text[i]:
                assert _reject(text[:i] + replacement + text[i + 1:], trust) in TAMPER_REASONS


@pytest.mark.parametrize("unprotected", [
    "a1d81cc6d81d0001",  # {shareable(tag 6 around a reference to itself): 1}
    "a1d81cc681d81d0001",  # the same through an array
    "a105d81cc6d81d00",  # the same as a value
    "a105c11a6a8d6e80",  # an epoch date (tag 1)
    "a105c249010000000000000000",  # a bignum (tag 2)
    "a105d8236128",  # a regular expression "(" (tag 35)
])
def test_any_tag_in_the_unprotected_header_is_malformed(cose, trust, unprotected):
    """Anyone can put tags in a code's unsigned header. cbor2 builds objects from them (a
    self-referencing map key made it raise RuntimeError, found by the JavaScript verifier's
    differential test); the format has no tag there, so the scan before cbor2
    (verifier.cborscan) refuses every one: only tag 18 around the COSE_Sign1 is read."""
    assert cose[16] == 0xA0  # the empty unprotected header of the canonical layout
    forged = cose[:16] + bytes.fromhex(unprotected) + cose[17:]
    assert _reject(CREDENTIAL_PREFIX + b45encode(forged), trust) is Reason.MALFORMED


def test_a_refused_code_leaves_no_trace_for_the_next_code(cose, trust):
    """cbor2's C hash of a tag kept the address of a tag it failed to hash, and refused any
    later tag allocated there: verdicts depended on the codes decoded before. No tag reaches
    cbor2 now but the envelope's: the same code gets the same verdict every time."""
    poisons = ["a1c6c482614e0101", "d81ca1c6d81d0001", "a1d81cc6d81d0001"]
    keyed = CREDENTIAL_PREFIX + b45encode(cose[:16] + bytes.fromhex("a1c6440000000001")
                                          + cose[17:])
    plain = CREDENTIAL_PREFIX + b45encode(cose[:16] + bytes.fromhex("a1056161") + cose[17:])
    for _ in range(300):
        for poison in poisons:
            forged = CREDENTIAL_PREFIX + b45encode(cose[:16] + bytes.fromhex(poison) + cose[17:])
            assert _reject(forged, trust) is Reason.MALFORMED
        assert _reject(keyed, trust) is Reason.MALFORMED
        verify(plain, trust, now=NOW + 60)
