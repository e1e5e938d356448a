"""Every time and key-window edge of verify(), with literal numbers, on both verify paths.

The fast path (``fastpath.read``: our issuer's exact layout) and the general path (``cose`` and
``claims``: any other valid encoding, and every device-bound credential, which arrives inside a
holder presentation) check the same limits in different code. A limit tested on one path only,
or only through its constant's name, can drift unseen (issue 20: a mutation audit). The numbers
are docs/FORMAT.md's: 300 s of clock skew either side of a credential, a 60 s presentation
window, a phone clock up to 30 s ahead. Each edge is tested on both sides: the last second
accepted and the first refused.
"""

from __future__ import annotations

import json

import cbor2
import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import sign_cose, sign_jws, sign_raw
from verifier import (
    Reason,
    RevocationList,
    TrustList,
    TrustListError,
    VerificationError,
    cnf_for,
    encode_presentation,
    load_anchor,
    presentation_message,
    verify,
)
from verifier.base45 import b45decode, b45encode
from verifier.cose import encode_protected, encode_sign1, sig_structure
from verifier.errors import RevocationListError
from verifier.fastpath import read
from verifier.jws import decode_jws
from verifier.keys import kid_for
from verifier.labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX, Alg, Claim
from verifier.presentation import decode_presentation, presentation_protected
from verifier.revocation import encode_payload
from verifier.trust import TRUST_LIST_TYPE

#: The signing key's window and the trust list's expiry, as the re-signed list states them.
KEY_NBF = 1_795_400_000
KEY_EXP = 1_795_600_000
LIST_EXP = 1_796_000_000
#: "fast": our canonical layout; "general": the same claims in another (valid) CBOR order;
#: "presented": a device-bound credential inside a fresh holder presentation.
PATHS = ("fast", "general", "presented")


@pytest.fixture(scope="module")
def device() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def literal_trust(home, signing) -> TrustList:
    """The shared home's trust list re-signed by its anchor, with the signing key's window
    ``[KEY_NBF, KEY_EXP]`` and the list's expiry ``LIST_EXP`` set to known numbers."""
    from issuer.keys.home import PASSPHRASE_ENV
    from issuer.keys.keystore import _read_private

    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    anchor = _read_private(home, home.anchor_private)
    mp.undo()
    doc = json.loads(decode_jws(home.trust_list.read_text()).payload)
    (issuer,) = doc["issuers"]
    (jwk,) = issuer["keys"]
    assert jwk["kid"] == signing[1].current
    jwk.update(nbf=KEY_NBF, exp=KEY_EXP)
    doc.update(iat=KEY_NBF, exp=LIST_EXP)
    signed = sign_jws(anchor, json.dumps(doc).encode(), TRUST_LIST_TYPE)
    return TrustList.from_jws(signed, load_anchor(home.anchor_public), KEY_NBF)


def _claims(iss: str, iat: int, exp: int, cnf=None) -> dict[int, object]:
    claims = {int(Claim.ISS): iss, int(Claim.IAT): iat, int(Claim.EXP): exp,
              int(Claim.CTI): bytes(range(12)), int(Claim.HEALTH): {1: 0, 2: 50}}
    if cnf is not None:
        claims[int(Claim.CNF)] = cnf
    return claims


@pytest.fixture(params=PATHS)
def encode(request, signing, device, trust):
    """``encode(iat, exp, now, iss=None)`` -> a code's text taking this test's path (a
    presentation is made at ``now``); the helper checks which path the bytes take."""
    key, config = signing
    path = request.param

    def make(iat: int, exp: int, now: int, iss: str | None = None) -> str:
        iss = config.iss if iss is None else iss
        if path == "presented":
            payload = cbor2.dumps(_claims(iss, iat, exp, cnf_for(device.public_key())))
        else:
            claims = _claims(iss, iat, exp)
            order = claims.items() if path == "fast" else reversed(claims.items())
            payload = cbor2.dumps(dict(order))
        data = sign_cose(key, payload)
        code = read(data)
        if path == "fast":
            assert code is not None and code[0] in trust.by_protected
        else:
            assert code is None  # not our canonical layout: the general path decides
        if path != "presented":
            return CREDENTIAL_PREFIX + b45encode(data)
        return encode_presentation(data, now, sign_raw(device, presentation_message(data, now)))

    return make


def refusal(text: str, trust: TrustList, now: int, **kw) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now, **kw)
    return caught.value


# Credential validity: [iat - 300, exp + 300] -------------------------------------------------

@pytest.mark.parametrize(("after_exp", "expected"), [
    (0, None), (300, None), (301, Reason.EXPIRED), (302, Reason.EXPIRED)])
def test_expiry_allows_exactly_300_seconds_of_skew(encode, trust, after_exp, expected):
    exp = NOW + DAY
    at = exp + after_exp
    text = encode(NOW, exp, at)
    if expected is None:
        assert verify(text, trust, at).exp == exp
    else:
        error = refusal(text, trust, at)
        assert error.reason is expected
        assert (error.context["exp"], error.context["now"]) == (exp, at)


@pytest.mark.parametrize(("before_iat", "expected"), [
    (0, None), (300, None), (301, Reason.NOT_YET_VALID), (302, Reason.NOT_YET_VALID)])
def test_issue_time_allows_exactly_300_seconds_of_skew(encode, trust, before_iat, expected):
    at = NOW - before_iat
    text = encode(NOW, NOW + DAY, at)
    if expected is None:
        assert verify(text, trust, at).iat == NOW
    else:
        assert refusal(text, trust, at).reason is expected


def test_a_code_must_expire_after_it_was_issued(encode, trust):
    """``iat == exp`` is refused on both paths (the issuer never signs it); one second of
    life is enough."""
    assert refusal(encode(NOW, NOW, NOW), trust, NOW).reason is Reason.INVALID_CLAIMS
    assert verify(encode(NOW, NOW + 1, NOW), trust, NOW).exp == NOW + 1


def test_the_issuer_must_be_the_keys(encode, trust):
    error = refusal(encode(NOW, NOW + DAY, NOW, iss="HY"), trust, NOW)
    assert error.reason is Reason.KEY_NOT_VALID


# The signing key's window [nbf, exp], read from a list that states it in literals -----------

def test_the_key_window_is_read_from_the_list(literal_trust, signing):
    (key,) = literal_trust.keys.values()
    assert (key.not_before, key.not_after) == (KEY_NBF, KEY_EXP)
    assert key.kid == kid_for(signing[0].public_key())
    assert literal_trust.expires_at == LIST_EXP


@pytest.mark.parametrize(("iat", "accepted"), [
    (KEY_NBF - 1, False), (KEY_NBF, True), (KEY_NBF + 1, True),
    (KEY_EXP - 1, True), (KEY_EXP, True), (KEY_EXP + 1, False)])
def test_both_ends_of_the_key_window(encode, literal_trust, iat, accepted):
    at = iat + 10  # fresh: only the key window can refuse it
    text = encode(iat, iat + DAY, at)
    if accepted:
        assert verify(text, literal_trust, at).iat == iat
    else:
        error = refusal(text, literal_trust, at)
        assert error.reason is Reason.KEY_NOT_VALID
        assert error.detail == "issued outside the signing key's validity window"


def test_the_trust_list_expires_after_its_last_second(encode, literal_trust):
    text = encode(KEY_EXP, LIST_EXP + DAY, LIST_EXP)
    assert verify(text, literal_trust, LIST_EXP).iat == KEY_EXP
    later = encode(KEY_EXP, LIST_EXP + DAY, LIST_EXP + 1)
    with pytest.raises(TrustListError) as caught:
        verify(later, literal_trust, LIST_EXP + 1)
    assert caught.value.reason is Reason.TRUST_LIST_EXPIRED


@pytest.mark.parametrize(("iat", "accepted"), [
    (KEY_NBF - 1, False), (KEY_NBF, True), (KEY_EXP, True), (KEY_EXP + 1, False)])
def test_a_revocation_list_is_dated_inside_its_keys_window(signing, literal_trust, iat,
                                                          accepted):
    key, config = signing
    data = sign_cose(key, encode_payload(iss=config.iss, seq=1, iat=iat, exp=iat + DAY,
                                         ctis=[bytes(12)]))
    if accepted:
        assert RevocationList.from_cose(data, literal_trust).issued_at == iat
    else:
        with pytest.raises(RevocationListError) as caught:
            RevocationList.from_cose(data, literal_trust)
        assert caught.value.reason is Reason.REVOCATION_LIST_BAD_SIGNATURE
        assert caught.value.detail == "issued outside the signing key's validity window"


# The presentation window: [now - 60, now + 30] ------------------------------------------------

@pytest.fixture(scope="module")
def presentation(signing, device):
    """A device-bound credential valid a day from NOW, presented at NOW."""
    key, config = signing
    data = sign_cose(key, cbor2.dumps(_claims(config.iss, NOW, NOW + DAY,
                                              cnf_for(device.public_key()))))
    return encode_presentation(data, NOW, sign_raw(device, presentation_message(data, NOW)))


@pytest.mark.parametrize(("age", "detail"), [
    (60, None), (61, "made 61 s ago; a live code is at most 60 s old"),
    (-30, None), (-31, "dated 31 s in the future: the phone's clock is wrong")])
def test_the_presentation_window_is_60_seconds_back_and_30_ahead(trust, presentation, age,
                                                                 detail):
    if detail is None:
        assert verify(presentation, trust, NOW + age).presented_at == NOW
    else:
        error = refusal(presentation, trust, NOW + age)
        assert error.reason is Reason.STALE_PRESENTATION
        assert error.detail == detail
        assert error.context["presented_at"] == NOW


def test_a_chosen_window_is_inclusive(trust, presentation):
    assert verify(presentation, trust, NOW + 10, window=10).presented_at == NOW
    error = refusal(presentation, trust, NOW + 11, window=10)
    assert error.reason is Reason.STALE_PRESENTATION
    assert error.detail == "made 11 s ago; a live code is at most 10 s old"


# Header checks, each reached with a signature that holds --------------------------------------

@pytest.mark.parametrize(("alg", "detail"), [
    (Alg.EDDSA, "header says EdDSA, key is ES256"), (-35, "COSE algorithm -35")])
def test_a_credential_header_alg_is_refused_though_the_signature_holds(signing, trust, alg,
                                                                      detail):
    """Signed by the trusted key over a header naming another algorithm: only the alg check
    can refuse it (the key's pinned ES256 would verify the signature)."""
    key, config = signing
    protected = cbor2.dumps({1: int(alg), 4: kid_for(key.public_key())})
    payload = cbor2.dumps(_claims(config.iss, NOW, NOW + DAY))
    data = encode_sign1(protected, payload, sign_raw(key, sig_structure(protected, payload)))
    assert protected != encode_protected(Alg.ES256, kid_for(key.public_key()))
    error = refusal(CREDENTIAL_PREFIX + b45encode(data), trust, NOW)
    assert error.reason is Reason.UNSUPPORTED_ALGORITHM
    assert error.detail == detail


# Sizes and ranges of what is read before any signature -----------------------------------

def _padded_text(key, iss: str, length: int) -> str:
    """A valid credential whose text is exactly ``length`` characters: its unprotected header
    (which nothing reads and the signature does not cover) carries the padding."""
    payload = cbor2.dumps(_claims(iss, NOW, NOW + DAY))
    protected = encode_protected(Alg.ES256, kid_for(key.public_key()))
    signature = sign_raw(key, sig_structure(protected, payload))
    for pad in range(length):
        text = CREDENTIAL_PREFIX + b45encode(cbor2.dumps(cbor2.CBORTag(
            18, [protected, {"pad": bytes(pad)}, payload, signature])))
        if len(text) >= length:
            break
    assert len(text) == length
    return text


def test_a_code_text_of_2048_characters_is_read_2049_are_not(signing, trust):
    key, config = signing
    assert verify(_padded_text(key, config.iss, 2048), trust, NOW).exp == NOW + DAY
    # No Base45 text is 2,044 characters long, so 2,049 are a longer one cut short.
    too_long = _padded_text(key, config.iss, 2050)[:2049]
    error = refusal(too_long, trust, NOW)
    assert error.reason is Reason.MALFORMED
    assert error.detail == "longer than 2048 characters"


@pytest.mark.parametrize(("at", "readable"), [
    (0, True), (2**32 - 1, True), (2**32, False), (-1, False)])
def test_a_presentation_time_is_an_unsigned_32_bit_number(device, presentation, at, readable):
    credential = decode_presentation(b45decode(presentation[len(PRESENTATION_PREFIX):])).credential
    protected = presentation_protected(at)
    data = encode_sign1(protected, credential,
                        sign_raw(device, sig_structure(protected, credential)))
    if readable:
        assert decode_presentation(data).presented_at == at
    else:
        with pytest.raises(VerificationError) as caught:
            decode_presentation(data)
        assert caught.value.reason is Reason.MALFORMED
        assert caught.value.detail == "presentation header has no time (iat)"
