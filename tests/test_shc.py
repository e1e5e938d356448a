"""verifier.formats.shc: cards made here (tests/shccards.py) through every check, and hostile
input (truncated, oversized, wrong types, zip bombs, deep JSON) each ending in its reason."""

from __future__ import annotations

import json
import secrets
import tracemalloc
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from shccards import (
    HEALTH_CARD,
    ISS,
    NBF,
    NOW,
    PATIENT,
    b64u,
    bundle,
    case_id,
    chunks,
    claims,
    crl,
    deflate,
    dose,
    header,
    jwk,
    jwks,
    qr,
    sign,
)

from verifier.errors import Reason, VerificationError
from verifier.formats import ForeignTrust, detect, verify_foreign
from verifier.formats.shc import (
    CLOCK_SKEW,
    MAX_CHUNKS,
    MAX_PAYLOAD_BYTES,
    MAX_TEXT_LENGTH,
    ShcIssuers,
    chunk_position,
    decode_unverified,
    join_chunks,
    jws_of,
    verify,
    verify_jws,
)

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)
_KEY = ec.generate_private_key(ec.SECP256R1())
_OTHER = ec.generate_private_key(ec.SECP256R1())
KID = jwk(_KEY)["kid"]


@pytest.fixture(scope="module")
def keys() -> ShcIssuers:
    """ISS trusted with _KEY (revocation list: rid "gone" always, "later" before NBF+10)."""
    return ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, crlVersion=1)),
                                 crl(KID, ["gone", f"later.{NBF + 10}"]))


def card(payload=None, head=None, key=_KEY) -> str:
    return qr(sign(key, head or header(KID), claims() if payload is None else payload))


def reason(text, keys, now=NOW, check=verify) -> tuple[str, str]:
    with pytest.raises(VerificationError) as refused:
        check(text, keys, now)
    assert refused.value.context["format"] == "shc"
    return refused.value.reason.value, refused.value.context["step"]


def test_a_card_and_what_a_checkpoint_shows(keys):
    code = verify(card(), keys, NOW)
    assert (code.format, code.issuer, code.country, code.kind, code.kid, code.alg) == (
        "shc", ISS, None, "immunization", KID, "ES256")
    assert (code.holder.name, code.holder.birth_date) == ("Jane Q. Anyperson", "1980-02-29")
    assert (code.issued_at, code.not_before, code.expires_at) == (NBF, NBF, None)
    assert dict(code.shows) == {"doses": "2", "vaccine": "cvx:208", "date": "2021-01-29",
                                "revocation_list": "checked"}


def test_the_checkpoint_entry_point_finds_it_by_prefix(keys):
    text = f"\n {card()} \r\n"
    assert detect(text) == "shc"
    assert verify_foreign(text, ForeignTrust(shc=keys), NOW).issuer == ISS


@pytest.mark.parametrize(("resources", "types", "kind", "shows"), [
    ([PATIENT, dose("2021-03-01", status="entered-in-error"), dose("2021-01-01")],
     [HEALTH_CARD], "immunization",
     {"doses": "1", "vaccine": "cvx:207", "date": "2021-01-01"}),
    ([PATIENT, {"resourceType": "Observation", "code": {"coding": [
        {"system": "http://loinc.org", "code": "94558-4"}]}, "effectiveDateTime": "2021-02-17",
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",
                                             "code": "260385009"}]}}],
     [HEALTH_CARD], "laboratory",
     {"results": "1", "test": "loinc:94558-4", "result": "snomed:260385009",
      "date": "2021-02-17"}),
    ([PATIENT, {"resourceType": "Observation", "valueQuantity": {"value": 5.2, "unit": "%"}}],
     [HEALTH_CARD], "laboratory", {"results": "1", "result": "5.2 %"}),
    ([PATIENT], [HEALTH_CARD, "https://smarthealth.cards#laboratory"], "laboratory",
     {"results": "0"}),
    ([PATIENT, {"resourceType": "Condition"}], [HEALTH_CARD, "https://example.org#other"],
     "condition", {}),
    ([PATIENT], [HEALTH_CARD], "health-card", {}),
])
def test_what_it_certifies(keys, resources, types, kind, shows):
    payload = claims(vc_type=types, vc_credentialSubject={"fhirBundle": bundle(*resources)})
    code = verify(card(payload), keys, NOW)
    assert (code.kind, {k: v for k, v in code.shows if k != "revocation_list"}) == (kind, shows)


@pytest.mark.parametrize(("patient", "name", "birth_date"), [
    ({"name": [{"text": "Dr. J. Q. Anyperson"}], "birthDate": "1980"}, "Dr. J. Q. Anyperson",
     "1980"),
    ({"name": [{"family": "Solo"}], "birthDate": "1980-02"}, "Solo", "1980-02"),
    ({"name": "Jane", "birthDate": 1980}, "", ""),
    ({"name": [7, {"given": "x"}], "birthDate": "29/02/1980"}, "", ""),
    ({"name": [{"given": ["x" * 500]}]}, "x" * 100, ""),
])
def test_the_holder_as_written_or_nothing(keys, patient, name, birth_date):
    payload = claims(vc_credentialSubject={"fhirBundle": bundle(
        {"resourceType": "Patient", **patient})})
    holder = verify(card(payload), keys, NOW).holder
    assert (holder.name, holder.birth_date) == (name, birth_date)


def test_a_card_naming_nobody_names_nobody(keys):
    payload = claims(vc_credentialSubject={"fhirBundle": bundle(dose("2021-01-01"))})
    holder = verify(card(payload), keys, NOW).holder
    assert (holder.name, holder.birth_date) == ("", "")


@pytest.mark.parametrize(("now", "exp", "nbf", "expected"), [
    (NOW, None, NBF, None),
    (NOW, NOW - CLOCK_SKEW, NBF, None),
    (NOW, NOW - CLOCK_SKEW - 1, NBF, ("expired", "expiry")),
    (NOW, NOW - CLOCK_SKEW - 0.5, NBF, ("expired", "expiry")),
    (NOW, None, NOW + CLOCK_SKEW, None),
    (NOW, None, NOW + CLOCK_SKEW + 0.25, ("not_yet_valid", "not_before")),
    (NOW, None, NBF * 1000, ("not_yet_valid", "not_before")),  # nbf in milliseconds
    (NOW, NBF, NBF, ("invalid_claims", "claims")),
    (NOW, NBF - 1, NBF, ("invalid_claims", "claims")),
    # Expired beats not yet valid, as for our own codes.
    (NOW, NOW - 10 * CLOCK_SKEW, NOW - 20 * CLOCK_SKEW, ("expired", "expiry")),
])
def test_times(keys, now, exp, nbf, expected):
    text = card(claims(nbf=nbf, **({} if exp is None else {"exp": exp})))
    if expected is None:
        assert verify(text, keys, now).expires_at == (None if exp is None else int(exp))
    else:
        assert reason(text, keys, now) == expected


@pytest.mark.parametrize(("rid", "nbf", "revoked"), [
    ("gone", NBF, True),
    ("later", NBF, True),
    ("later", NBF + 9.999, True),
    ("later", NBF + 10, False),
    ("later", NBF + 11, False),
    ("kept", NBF, False),
    (None, NBF, False),
])
def test_revocation_by_rid(keys, rid, nbf, revoked):
    text = card(claims(nbf=nbf, **({} if rid is None else {"vc_rid": rid})))
    if revoked:
        assert reason(text, keys) == ("revoked", "revocation")
    else:
        assert verify(text, keys, NOW).issuer == ISS


def test_revocation_is_checked_last(keys):
    text = card(claims(exp=NOW - 3000, vc_rid="gone"))
    assert reason(text, keys) == ("expired", "expiry")


@pytest.mark.parametrize(("jwk_extra", "lists", "state"), [
    ({"crlVersion": 1}, [crl(KID, [])], "checked"),
    ({"crlVersion": 1}, None, "not held"),
    ({}, None, "none published"),
])
def test_the_screen_says_whether_revocation_was_checked(jwk_extra, lists, state):
    keys = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, **jwk_extra)), lists)
    assert dict(verify(card(), keys, NOW).shows)["revocation_list"] == state


def test_keys_none_means_unknown_key_after_decoding():
    assert reason(card(), None) == ("unknown_key", "key")
    assert reason("shc:/123", None) == ("malformed", "decode")


def test_unknown_issuer_and_unknown_key(keys):
    assert reason(card(claims(iss="https://other.example")), keys) == ("unknown_key", "key")
    assert reason(card(head=header(jwk(_OTHER)["kid"]), key=_OTHER), keys) == (
        "unknown_key", "key")
    # Another issuer's key does not sign for this one.
    both = keys.merged(ShcIssuers.from_bytes("https://other.example", jwks(jwk(_OTHER))))
    assert reason(card(head=header(jwk(_OTHER)["kid"]), key=_OTHER), both) == (
        "unknown_key", "key")


def _swap(jws: str, part: int, value: str) -> str:
    parts = jws.split(".")
    parts[part] = value
    return ".".join(parts)


@pytest.mark.parametrize("tamper", [
    lambda j: _swap(j, 1, b64u(deflate(json.dumps(claims(nbf=NBF - 1)).encode()))),
    lambda j: _swap(j, 0, b64u(json.dumps(header(KID, typ="JWT")).encode())),
    lambda j: _swap(j, 2, j.split(".")[2][:-2]),
    lambda j: _swap(j, 2, b64u(b"\x30\x44\x02\x20" + bytes(32) + b"\x02\x20" + bytes(32))),
    lambda j: _swap(j, 2, ""),
    lambda j: sign(_OTHER, header(KID), claims()),
], ids=["payload", "header", "signature cut", "DER signature", "no signature", "other key"])
def test_tampering_is_a_bad_signature(keys, tamper):
    assert reason(tamper(sign(_KEY, header(KID), claims())), keys, check=verify_jws) == (
        "bad_signature", "signature")


@pytest.mark.parametrize(("head", "expected"), [
    (header(KID, alg="RS256"), "unsupported_algorithm"),
    (header(KID, alg="none"), "unsupported_algorithm"),
    (header(KID, alg=None), "unsupported_algorithm"),
    ({"zip": "DEF", "kid": KID}, "malformed"),
    ({"alg": "ES256", "kid": KID}, "malformed"),
    (header(KID, zip="GZIP"), "malformed"),
    ({"zip": "DEF", "alg": "ES256"}, "malformed"),
    (header(7), "malformed"),
    (header(""), "malformed"),
    (header("k" * 101), "malformed"),
    (header(KID, crit=["exp"]), "malformed"),
    (b"[]", "malformed"),
    (b'{"alg":"ES256","alg":"ES256","zip":"DEF","kid":"x"}', "malformed"),
    (b"\xff\xfe", "malformed"),
])
def test_the_header(keys, head, expected):
    assert reason(card(head=head), keys) == (expected, "header")


def _raw_card(raw: bytes) -> str:
    return card(raw)


def _deep(depth: int) -> bytes:
    return deflate(b'{"a":' * depth + b"1" + b"}" * depth)


@pytest.mark.parametrize("raw", [
    deflate(b"[1, 2]"),
    deflate(b'"{}"'),
    deflate(b"\xef\xbb\xbf" + json.dumps(claims()).encode()),
    deflate(b'{"iss": "a", "iss": "b"}'),
    deflate(b'{"nbf": NaN}'),
    deflate(b'{"nbf": 123456789012345678901234567890}'),
    deflate(b'{"iss": "\xff"}'),
    deflate(b"{"),
    _deep(20),
    _deep(100_000),
    zlib.compress(json.dumps(claims()).encode()),  # zlib's wrapper, not raw DEFLATE
    deflate(json.dumps(claims()).encode())[:-3],  # cut short
    deflate(json.dumps(claims()).encode()) + b"\x00",  # something after the stream
    json.dumps(claims()).encode(),  # not compressed
    b"",
], ids=["array", "string", "bom", "key twice", "nan", "huge int", "not utf-8", "cut json",
        "deep", "very deep", "zlib", "truncated", "trailing", "plain", "empty"])
def test_the_payload(keys, raw):
    assert reason(_raw_card(raw), keys) == ("malformed", "payload")


def test_a_zip_bomb_inflates_no_further_than_the_bound(keys):
    packer, size = zlib.compressobj(9, zlib.DEFLATED, -15), 15 * 1024 * 1024
    megabyte = b" " * (1024 * 1024)  # JSON whitespace: inflated whole, it would parse
    bomb = b"".join([packer.compress(b"{"), *(packer.compress(megabyte) for _ in range(15)),
                     packer.compress(b"}"), packer.flush()])
    text = _raw_card(bomb)
    assert len(text) < MAX_TEXT_LENGTH  # within every bound but the inflated size
    tracemalloc.start()
    try:
        assert reason(text, keys) == ("malformed", "payload")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size // 16


def _payload_of(size: int) -> bytes:
    base = json.dumps(claims(pad=""), separators=(",", ":")).encode()
    return base.replace(b'"pad":""', b'"pad":"' + b"x" * (size - len(base)) + b'"')


def test_the_payload_bound_is_exact(keys):
    assert len(_payload_of(MAX_PAYLOAD_BYTES)) == MAX_PAYLOAD_BYTES
    assert verify(_raw_card(deflate(_payload_of(MAX_PAYLOAD_BYTES))), keys, NOW).issuer == ISS
    assert reason(_raw_card(deflate(_payload_of(MAX_PAYLOAD_BYTES + 1))), keys) == (
        "malformed", "payload")


@pytest.mark.parametrize("payload", [
    claims(iss=None), claims(iss=["https://issuer.example/shc"]),
    claims(nbf=None), claims(nbf="1700000000"), claims(nbf=True), claims(nbf=[NBF]),
    claims(exp="never"), claims(exp=False), claims(exp=None),
    deflate(json.dumps(claims()).replace(f'"nbf": {NBF}', '"nbf": 1e400').encode()),
    claims(vc=None), claims(vc=[]), claims(vc_type=None), claims(vc_type=HEALTH_CARD),
    claims(vc_type=["https://smarthealth.cards#immunization"]), claims(vc_type=[HEALTH_CARD, 1]),
    claims(vc_credentialSubject=None), claims(vc_credentialSubject={}),
    claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Patient"}}),
    claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle", "entry": {}}}),
    claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle"}}),
    claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle", "entry": [1]}}),
    claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle",
                                                "entry": [{"resource": {}}]}}),
    claims(vc_credentialSubject={"fhirBundle": bundle(PATIENT, PATIENT)}),
    claims(vc_rid=7), claims(vc_rid="r" * 25), claims(vc_rid="a.1"), claims(vc_rid=""),
    claims(vc_rid=None),
], ids=lambda p: case_id(p, 60))
def test_the_claims(keys, payload):
    assert reason(card(payload), keys) == ("invalid_claims", "claims")


@pytest.mark.parametrize("text", [
    None, b"shc:/5676", 5676, ["shc:/56"], "", "shc:/", "shc:", "SHC:/5676", "shc:/56x76",
    "shc:/567", "shc:/99", "shc:/٥٦٧٦", "shc:/0/1/5676", "shc:/1/2/5676", "shc:/2/1/5676",
    "shc:/1//5676", "shc:/1/1/567", "shc:/" + "5" * (MAX_TEXT_LENGTH - 4),
], ids=repr)
def test_texts_that_are_no_card(text):
    assert reason(text, None) == ("malformed", "decode")


_JWS = sign(_KEY, header(KID), claims())


@pytest.mark.parametrize(("text", "expected"), [
    (qr(_JWS)[:-1], ("malformed", "decode")),  # an odd number of digits
    (qr(_JWS[:-1]), ("malformed", "jws")),  # a signature of 85 characters: no base64url
    (qr(_JWS[:-2]), ("bad_signature", "signature")),  # 63 bytes
    (qr(_JWS[:_JWS.rindex(".") + 1]), ("bad_signature", "signature")),  # none at all
    (qr(_JWS[:_JWS.rindex(".")]), ("malformed", "jws")),
    (qr(_JWS[:_JWS.index(".") + 40]), ("malformed", "jws")),
    (qr(_JWS[:10]), ("malformed", "jws")),
], ids=["odd", "85", "84", "dot", "no signature", "in the payload", "in the header"])
def test_a_truncated_text(keys, text, expected):
    assert reason(text, keys) == expected


@pytest.mark.parametrize("jws", [
    "a.b", "a.b.c.d", "....", "a.b.c", "e30.e30.e30=", "e30.e+0.e30", "é.b.c", "x" * 30000, 7,
])
def test_jws_that_are_no_card(jws):
    assert reason(jws, None, check=verify_jws)[0] == "malformed"


def test_one_of_one_is_a_complete_text(keys):
    text = card()
    assert verify(text.replace("shc:/", "shc:/1/1/"), keys, NOW).issuer == ISS


def test_decode_unverified_reads_without_checking():
    payload = claims(exp=NOW - 10**6)
    assert decode_unverified(card(payload, key=_OTHER)) == payload


# Chunks: a checkpoint scans them one at a time, then joins them.

def test_chunks_in_any_order(keys):
    jws = sign(_KEY, header(KID), claims())
    parts = chunks(jws, 3)
    assert [chunk_position(p) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        joined = join_chunks([parts[i] for i in order])
        assert jws_of(joined) == jws
        assert verify(joined, keys, NOW).issuer == ISS
    whole = card()
    assert join_chunks([whole]) == whole
    assert chunk_position(whole) is None


@pytest.mark.parametrize("pick", [
    lambda p: p[:2],
    lambda p: [p[0], p[1], p[1]],
    lambda p: [p[0], p[1], p[2], p[2]],
    lambda p: [p[0], p[1], p[2].replace("/3/3/", "/4/3/")],
    lambda p: [p[0], p[1], p[2].replace("/3/3/", "/3/4/")],
    lambda p: [p[0], p[1], p[2].replace("/3/3/", "/0/3/")],
    lambda p: [p[0], p[1], p[2] + "1"],
    lambda p: [p[0], p[1], "shc:/" + p[2].split("/")[-1]],
    lambda p: [p[0], p[1], p[2] + "x"],
    lambda p: [p[0], p[1], 7],
    lambda p: [],
    lambda p: None,
    lambda p: "".join(p),
    lambda p: p * 7,
], ids=["missing", "twice", "extra", "out of range", "other total", "index 0", "odd",
        "complete among chunks", "not digits", "not text", "none", "no list", "a string",
        "too many"])
def test_chunks_that_do_not_make_a_card(pick):
    parts = chunks(sign(_KEY, header(KID), claims()), 3)
    with pytest.raises(VerificationError) as refused:
        join_chunks(pick(parts))
    assert (refused.value.reason, refused.value.context["step"]) == (Reason.MALFORMED,
                                                                     "chunks")


def test_chunk_size_and_count_bounds(keys):
    jws = sign(_KEY, header(KID), claims(pad=secrets.token_urlsafe(6000)))  # incompressible
    assert verify(join_chunks(chunks(jws, MAX_CHUNKS)), keys, NOW).issuer == ISS
    with pytest.raises(VerificationError):
        join_chunks(chunks(jws, 3))  # about 2,600 characters a chunk, over 1,191


def test_a_chunk_alone_is_not_a_card():
    assert reason(chunks(sign(_KEY, header(KID), claims()), 2)[0], None) == ("malformed",
                                                                              "decode")


# Anything at all: a VerificationError, never another exception.

@FUZZ
@given(st.text(max_size=300))
def test_any_text_after_the_prefix(tail):
    with pytest.raises(VerificationError):
        verify("shc:/" + tail, None, NOW)


@FUZZ
@given(st.data())
def test_any_change_to_a_card(keys, data):
    text = card()
    at = data.draw(st.integers(5, len(text) - 1))
    new = data.draw(st.sampled_from("0123456789/x"))
    changed = text[:at] + new + text[at + 1:]
    if changed != text:
        with pytest.raises(VerificationError):
            verify(changed, keys, NOW)


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=20))
def test_any_signed_json_in_vc(keys, value):
    text = card(claims(vc=value))
    with pytest.raises(VerificationError) as refused:
        verify(text, keys, NOW)
    assert refused.value.reason is Reason.INVALID_CLAIMS
