"""Device-bound credentials and their live presentations (HCP1): every refusal by reason."""

from __future__ import annotations

import cbor2
import pytest
import segno
from conftest import DAY, NOW
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import sign_cose, sign_raw
from verifier import (
    PRESENTATION_WINDOW,
    Reason,
    RevocationList,
    Revocations,
    VerificationError,
    cnf_for,
    decode_unverified,
    encode_presentation,
    presentation_message,
    verify,
    verify_image,
)
from verifier.base45 import b45decode, b45encode
from verifier.cose import decode_sign1, encode_sign1, sig_structure
from verifier.labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX, Alg, Claim, Header
from verifier.presentation import PRESENTATION_FUTURE_SKEW, decode_presentation
from verifier.revocation import encode_payload


@pytest.fixture(scope="module")
def device() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def bound(make_code, device) -> str:
    """A device-bound credential's text."""
    return make_code(cnf=cnf_for(device.public_key()), score=91)


def present(device, code: str, at: int) -> str:
    """The phone's side, in Python: sign the credential and the time."""
    credential = b45decode(code[len(CREDENTIAL_PREFIX):])
    return encode_presentation(credential, at,
                               sign_raw(device, presentation_message(credential, at)))


def reason_of(text: str, trust, now: int, **kw) -> Reason:
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now, **kw)
    return caught.value.reason


def test_a_fresh_presentation_is_valid(trust, device, bound):
    credential = verify(present(device, bound, NOW + 5), trust, NOW + 10)
    assert (credential.colour, credential.score) == ("green", 91)
    assert credential.presented_at == NOW + 5 and not credential.static
    assert credential.as_dict()["presented_at"] == NOW + 5


def test_a_bare_device_bound_credential_is_refused(trust, bound):
    assert reason_of(bound, trust, NOW) is Reason.HOLDER_PROOF_MISSING


def test_a_static_credential_is_valid_and_static(trust, make_code):
    credential = verify(make_code(), trust, NOW)
    assert credential.static and credential.presented_at is None


@pytest.mark.parametrize(("age", "expected"), [
    (0, None), (PRESENTATION_WINDOW, None), (PRESENTATION_WINDOW + 1, Reason.STALE_PRESENTATION),
    (90, Reason.STALE_PRESENTATION), (-PRESENTATION_FUTURE_SKEW, None),
    (-PRESENTATION_FUTURE_SKEW - 1, Reason.STALE_PRESENTATION),
])
def test_the_presentation_age_window(trust, device, bound, age, expected):
    text = present(device, bound, NOW)
    if expected is None:
        assert verify(text, trust, NOW + age).presented_at == NOW
    else:
        assert reason_of(text, trust, NOW + age) is expected


def test_the_window_is_configurable(trust, device, bound):
    text = present(device, bound, NOW)
    assert reason_of(text, trust, NOW + 90) is Reason.STALE_PRESENTATION
    assert verify(text, trust, NOW + 90, window=120).presented_at == NOW
    assert reason_of(text, trust, NOW + 20, window=10) is Reason.STALE_PRESENTATION


def test_another_phone_cannot_present_the_credential(trust, bound):
    thief = ec.generate_private_key(ec.SECP256R1())
    assert reason_of(present(thief, bound, NOW), trust, NOW) is Reason.BAD_HOLDER_SIGNATURE


def test_a_static_credential_inside_a_presentation_is_refused(trust, device, make_code):
    text = present(device, make_code(), NOW)
    assert reason_of(text, trust, NOW) is Reason.BAD_HOLDER_SIGNATURE


def _resign_header(text: str, header: dict, device=None) -> str:
    """The presentation with another protected header, signed again by ``device`` (or with
    the old signature when ``device`` is None)."""
    sign1 = decode_sign1(b45decode(text[len(PRESENTATION_PREFIX):]))
    protected = cbor2.dumps(header)
    signature = sign1.signature if device is None else sign_raw(
        device, sig_structure(protected, sign1.payload))
    return PRESENTATION_PREFIX + b45encode(encode_sign1(protected, sign1.payload, signature))


def test_a_moved_clock_breaks_the_holder_signature(trust, device, bound):
    old = present(device, bound, NOW - 90)
    moved = _resign_header(old, {Header.ALG: -7, Header.CWT_CLAIMS: {Claim.IAT: NOW}})
    assert reason_of(moved, trust, NOW) is Reason.BAD_HOLDER_SIGNATURE


@pytest.mark.parametrize(("header", "expected"), [
    ({Header.ALG: -8, Header.CWT_CLAIMS: {Claim.IAT: NOW}}, Reason.UNSUPPORTED_ALGORITHM),
    ({Header.ALG: -35, Header.CWT_CLAIMS: {Claim.IAT: NOW}}, Reason.UNSUPPORTED_ALGORITHM),
    ({Header.CWT_CLAIMS: {Claim.IAT: NOW}}, Reason.MALFORMED),
    ({Header.ALG: -7}, Reason.MALFORMED),
    ({Header.ALG: -7, Header.CWT_CLAIMS: {Claim.IAT: "now"}}, Reason.MALFORMED),
    ({Header.ALG: -7, Header.CWT_CLAIMS: {Claim.IAT: -1}}, Reason.MALFORMED),
    ({Header.ALG: -7, Header.CWT_CLAIMS: {Claim.IAT: 2**40}}, Reason.MALFORMED),
    ({Header.ALG: -7, Header.CWT_CLAIMS: [NOW]}, Reason.MALFORMED),
    ({Header.ALG: -7, Header.CWT_CLAIMS: {Claim.IAT: float(NOW)}}, Reason.MALFORMED),
])
def test_bad_presentation_headers(trust, device, bound, header, expected):
    text = _resign_header(present(device, bound, NOW), header, device)
    assert reason_of(text, trust, NOW) is expected


def test_a_list_header_is_malformed(trust, device, bound):
    sign1 = decode_sign1(b45decode(present(device, bound, NOW)[len(PRESENTATION_PREFIX):]))
    text = PRESENTATION_PREFIX + b45encode(encode_sign1(cbor2.dumps([1, -7]), sign1.payload,
                                                        sign1.signature))
    assert reason_of(text, trust, NOW) is Reason.MALFORMED


def test_a_tampered_credential_inside_is_a_bad_issuer_signature(trust, device, bound):
    credential = bytearray(b45decode(bound[len(CREDENTIAL_PREFIX):]))
    credential[-70] ^= 1  # inside the payload
    at = NOW
    signature = sign_raw(device, presentation_message(bytes(credential), at))
    text = encode_presentation(bytes(credential), at, signature)
    assert reason_of(text, trust, NOW) is Reason.BAD_SIGNATURE


def test_an_expired_credential_in_a_fresh_presentation_is_expired(trust, device, make_code):
    old = make_code(cnf=cnf_for(device.public_key()), iat=NOW - 3 * DAY, ttl=DAY)
    assert reason_of(present(device, old, NOW), trust, NOW) is Reason.EXPIRED


def test_a_revoked_device_bound_credential_is_revoked(trust, signing, device, bound):
    key, config = signing
    cti = decode_unverified(bound).cti
    listed = RevocationList.from_cose(sign_cose(key, encode_payload(
        iss=config.iss, seq=1, iat=NOW, exp=NOW + DAY, ctis=[cti])), trust)
    revocations = Revocations({config.iss: listed})
    text = present(device, bound, NOW)
    assert reason_of(text, trust, NOW, revocations=revocations) is Reason.REVOKED
    assert verify(text, trust, NOW, Revocations()).presented_at == NOW


@pytest.mark.parametrize("text", [
    PRESENTATION_PREFIX, PRESENTATION_PREFIX + "!!", PRESENTATION_PREFIX + "A" * 4,
    PRESENTATION_PREFIX + b45encode(cbor2.dumps([1, 2, 3])),
    PRESENTATION_PREFIX + "0" * 3000,
])
def test_malformed_presentations(trust, text):
    assert reason_of(text, trust, NOW) is Reason.MALFORMED


def test_a_presentation_whose_payload_is_not_a_credential(trust, device):
    payload = b"not a COSE_Sign1"
    text = encode_presentation(payload, NOW,
                               sign_raw(device, presentation_message(payload, NOW)))
    assert reason_of(text, trust, NOW) is Reason.MALFORMED


@pytest.mark.parametrize("cnf", [
    {1: {1: 2, -1: 1, -2: b"\xff" * 32, -3: True}},  # x >= p: not a point on P-256
    {1: {1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x01" * 32}},  # uncompressed y: not the format
    {1: {1: 1, -1: 6, -2: b"\x01" * 32}},  # an OKP key
    {3: b"kid"},  # a key id, not a key
])
def test_unusable_holder_keys_are_invalid_claims(trust, device, make_code, cnf):
    text = present(device, make_code(cnf=cnf), NOW)
    assert reason_of(text, trust, NOW) is Reason.INVALID_CLAIMS


def test_decode_presentation_reads_the_time(device, bound):
    text = present(device, bound, NOW + 7)
    parsed = decode_presentation(b45decode(text[len(PRESENTATION_PREFIX):]))
    assert parsed.presented_at == NOW + 7
    assert parsed.credential == b45decode(bound[len(CREDENTIAL_PREFIX):])


@pytest.mark.parametrize("family", [False, True], ids=["own", "family"])
def test_a_presentation_fits_qr_version_12_at_ecc_m(device, make_code, family):
    # The longest issuer id a demo trust list uses, a policy digest, the largest score; a
    # family code's mark costs 2 bytes more (docs/FORMAT.md: 406 characters of 419).
    code = make_code(cnf=cnf_for(device.public_key()), score=100, policy=b"\xff" * 8,
                     family=family)
    text = present(device, code, 2**32 - 1)
    assert len(text) == 388 + 15 + 3 * family
    qr = segno.make(text, error="m", boost_error=False, mode="alphanumeric")
    assert qr.version <= 12, (len(text), qr.version)


def test_a_family_code_says_so_and_nothing_more(trust, device, make_code):
    own = verify(present(device, make_code(cnf=cnf_for(device.public_key())), NOW), trust, NOW)
    family = verify(present(device, make_code(cnf=cnf_for(device.public_key()), family=True),
                            NOW), trust, NOW)
    assert (own.family, family.family) == (False, True)
    assert family.as_dict()["family"] is True and family.id_check is None
    with pytest.raises(ValueError):  # the issuer never signs a family mark without a phone
        make_code(family=True)


def test_a_presentation_is_read_from_an_image(trust, device, bound, tmp_path):
    path = tmp_path / "presentation.png"
    segno.make(present(device, bound, NOW), error="m", boost_error=False).save(
        path, scale=6, border=4)
    credential = verify_image(path, trust, NOW + 3)
    assert credential.presented_at == NOW and credential.score == 91
    with pytest.raises(VerificationError) as caught:
        verify_image(path, trust, NOW + 90)
    assert caught.value.reason is Reason.STALE_PRESENTATION


def test_the_holder_key_must_be_p256():
    with pytest.raises(ValueError):
        cnf_for(ec.generate_private_key(ec.SECP384R1()).public_key())
    assert Alg.ES256 == -7
