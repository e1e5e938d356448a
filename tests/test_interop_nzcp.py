"""The NZ COVID Pass: every case of the specification's examples (tests/interop/nzcp/, see its
SOURCES.md), the clock pinned, against the result the specification's prose expects for it; the
worked example's every stage; then hostile input, each refusal by its reason and step."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import pytest
from nzcppasses import (
    CLAIMS,
    DROP,
    EXP,
    KEY,
    NBF,
    OTHER_KEY,
    TEST_DID,
    claims_with,
    cose,
    did_document,
    make_pass,
    public_jwk,
    text,
)

from verifier.errors import Reason, TrustListError, VerificationError
from verifier.formats import ForeignTrust, detect, verify_foreign
from verifier.formats.nzcp import (
    EXAMPLE_ISSUER,
    MAX_TEXT_LENGTH,
    PRODUCTION_ISSUER,
    NzcpIssuers,
    decode_unverified,
    verify,
)
from verifier.keys import b64url, b64url_decode

CORPUS = Path(__file__).parent / "interop" / "nzcp"
EXAMPLES = CORPUS / "examples"
#: The clock of every corpus case: 2021-11-10, after the examples were made (2021-11-02), before
#: the "not active" one becomes active (2026-11-02).
PINNED = int(datetime(2021, 11, 10, tzinfo=UTC).timestamp())

#: Each case: its file, the words of main.md that give its expected result (in the section
#: showing its picture), and what the verifier must do: None (valid) or (reason, step).
CASES = {
    "valid": ("valid/nzcp", "returns a valid digital signature", None),
    "bad public key": ("invalid/nzcp-bad-public-key",
                       "FAIL or ERROR due to unable to validate the digital signature",
                       (Reason.BAD_SIGNATURE, "signature")),
    "public key not found": ("invalid/nzcp-not-associated-public-key",
                             "FAIL or ERROR due to not being able to obtain the public key",
                             (Reason.UNKNOWN_KEY, "key")),
    "modified signature": ("invalid/nzcp-modified-sig",
                           "FAIL or ERROR due to not being able to validate the digital "
                           "signature", (Reason.BAD_SIGNATURE, "signature")),
    "modified payload": ("invalid/nzcp-modified-payload",
                         "FAIL or ERROR due to not being able to validate the digital "
                         "signature", (Reason.BAD_SIGNATURE, "signature")),
    "expired": ("invalid/nzcp-expired-payload", "The expected result from validating this pass "
                "is EXPIRED", (Reason.EXPIRED, "expiry")),
    "not active": ("invalid/nzcp-notactive-payload", "The expected result from validating "
                   "this pass is NOT ACTIVE", (Reason.NOT_YET_VALID, "not_before")),
    # In the examples, not in main.md (no text file, no expected result): its issuer is not the
    # examples' and its cti is a byte string under CBOR tag 64, outside the CBOR a checkpoint
    # reads, so it is refused before its issuer is looked at (docs/INTEROP.md).
    "revoked public key": ("invalid/nzcp-revoked-public-key", None,
                           (Reason.MALFORMED, "payload")),
}


def read(stem: str, suffix: str) -> str:
    return (EXAMPLES / f"{stem}{suffix}").read_text(encoding="utf-8")


def qr_text(stem: str) -> str:
    """A case's QR text: its .txt, or for the one without, its picture read."""
    if (EXAMPLES / f"{stem}.txt").exists():
        return read(stem, ".txt")
    from verifier.image import decode_image

    (found,) = decode_image(EXAMPLES / f"{stem}.png")
    return found


def section_showing(picture: str) -> str:
    """The text of main.md's section that shows ``picture`` (from its heading to the next)."""
    spec = (CORPUS / "main.md").read_text(encoding="utf-8")
    at = spec.index(f'<img src="examples/{picture}"')
    start = spec.rindex("\n#", 0, at)
    end = spec.find("\n#", at)
    return spec[start:end]


@pytest.fixture(scope="module")
def example_issuer() -> NzcpIssuers:
    """The examples' issuer trusted, as main.md says every example needs."""
    return NzcpIssuers.load(EXAMPLES / "valid" / "did.json")


@pytest.fixture(scope="module")
def test_issuer() -> NzcpIssuers:
    return NzcpIssuers.from_json(did_document())


def refusal(text_: str, keys: NzcpIssuers | None, now: int = NBF) -> tuple[Reason, str]:
    with pytest.raises(VerificationError) as caught:
        verify(text_, keys, now)
    assert caught.value.context["format"] == "nzcp"
    return caught.value.reason, caught.value.context["step"]


# -- the corpus ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case, example_issuer):
    stem, expected_words, outcome = CASES[case]
    if expected_words is None:
        assert Path(stem).name not in (CORPUS / "main.md").read_text(encoding="utf-8")
    else:
        assert expected_words in section_showing(f"{stem}.png")
    code = qr_text(stem)
    assert detect(code) == "nzcp"
    if outcome is None:
        result = verify(code, example_issuer, PINNED)
        assert (result.format, result.issuer, result.kid, result.alg) == (
            "nzcp", EXAMPLE_ISSUER, "key-1", "ES256")
    else:
        assert refusal(code, example_issuer, PINNED) == outcome


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][1] and CASES[c][2]])
def test_corpus_case_through_the_common_interface(case, example_issuer):
    """verify_foreign (detection, then the module) reaches the same refusal."""
    stem, _, (reason, step) = CASES[case]
    with pytest.raises(VerificationError) as caught:
        verify_foreign(" " + qr_text(stem) + "\n", ForeignTrust(nzcp=example_issuer), PINNED)
    assert (caught.value.reason, caught.value.context["step"]) == (reason, step)


@pytest.mark.parametrize("stem", [stem for stem, _, _ in CASES.values()
                                  if (EXAMPLES / f"{stem}.txt").exists()])
def test_every_picture_reads_as_its_text(stem):
    from verifier.image import decode_image

    assert decode_image(EXAMPLES / f"{stem}.png") == [read(stem, ".txt")]


def test_the_time_cases_fail_only_on_time(example_issuer):
    """Signature, key and claims of the expired and the not-active pass are good: inside their
    windows they verify; the pinned clock alone refuses them."""
    expired = verify(qr_text("invalid/nzcp-expired-payload"), example_issuer, 1_620_000_000)
    assert expired.expires_at == 1_635_278_731 < PINNED
    active_later = verify(qr_text("invalid/nzcp-notactive-payload"), example_issuer,
                          int(datetime(2026, 11, 3, tzinfo=UTC).timestamp()))
    assert active_later.not_before == 1_793_649_931 > PINNED


def test_worked_example_every_stage(example_issuer):
    """Each intermediate result main.md's worked example shows, from the QR text to the key."""
    code = read("valid/nzcp", ".txt")
    unverified = decode_unverified(code)
    assert unverified.cose.hex() == read("valid/nzcp-cwt-hex", ".txt").strip()
    headers = json.loads(read("valid/nzcp-protected-headers", ".json"))
    assert (unverified.kid, unverified.alg) == (headers["kid"], -7)
    assert headers["alg"] == "ES256"
    # The text says the kid is a text string; the examples encode it as bytes: both are read.
    assert cbor2.loads(unverified.protected)[4] == b"key-1"
    expected = json.loads(read("valid/nzcp", ".json"))
    result = verify(code, example_issuer, PINNED)
    claims = unverified.claims
    assert (claims[1], claims[5], claims[4], claims["vc"]) == (
        expected["iss"], expected["nbf"], expected["exp"], expected["vc"])
    assert dict(result.shows)["credential_id"] == expected["jti"]
    subject = expected["vc"]["credentialSubject"]
    assert result.holder.name == f"{subject['givenName']} {subject['familyName']}"
    assert result.holder.birth_date == subject["dob"]
    assert (result.not_before, result.expires_at) == (expected["nbf"], expected["exp"])
    assert (result.country, result.kind, dict(result.shows)["pass_type"]) == (
        "NZ", "pass", "PublicCovidPass")
    jwk = json.loads(read("valid/jwk", ".json"))
    numbers = example_issuer.key(EXAMPLE_ISSUER, "key-1").public_numbers()
    assert (numbers.x, numbers.y) == (int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                      int.from_bytes(b64url_decode(jwk["y"]), "big"))


def test_only_the_issuers_given_are_trusted(example_issuer):
    """Trust is by issuer: the example issuer's key under the production issuer's DID does not
    make the example pass valid, and no document means no issuer."""
    code = read("valid/nzcp", ".txt")
    doc = json.loads(read("valid/did", ".json"))
    production = json.loads(json.dumps(doc).replace(EXAMPLE_ISSUER, PRODUCTION_ISSUER))
    assert refusal(code, NzcpIssuers.from_json(production), PINNED) == (
        Reason.UNKNOWN_KEY, "issuer")
    assert refusal(code, None, PINNED) == (Reason.UNKNOWN_KEY, "issuer")
    assert refusal(code, NzcpIssuers(), PINNED) == (Reason.UNKNOWN_KEY, "issuer")
    both = NzcpIssuers.from_json(production).merged(example_issuer)
    assert both.issuers == (PRODUCTION_ISSUER, EXAMPLE_ISSUER)
    assert verify(code, both, PINNED).issuer == EXAMPLE_ISSUER


def test_a_withdrawn_key(example_issuer):
    """A newer document replaces the older: a key taken out of assertionMethod no longer signs
    (key_not_valid); a key taken out of the document is unknown."""
    code = read("valid/nzcp", ".txt")
    doc = json.loads(read("valid/did", ".json"))
    withdrawn = example_issuer.merged(NzcpIssuers.from_json({**doc, "assertionMethod": []}))
    assert refusal(code, withdrawn, PINNED) == (Reason.KEY_NOT_VALID, "key")
    removed = withdrawn.merged(NzcpIssuers.from_json({**doc, "verificationMethod": [],
                                                      "assertionMethod": []}))
    assert refusal(code, removed, PINNED) == (Reason.UNKNOWN_KEY, "key")
    assert len(removed) == 1


def test_issuers_round_trip(example_issuer, test_issuer):
    both = example_issuer.merged(test_issuer)
    again = NzcpIssuers.from_bytes(both.to_bytes())
    assert again.issuers == (EXAMPLE_ISSUER, TEST_DID)
    assert again.to_json() == both.to_json() == [
        json.loads(read("valid/did", ".json")), did_document()]
    code = read("valid/nzcp", ".txt")
    assert verify(code, again, PINNED).holder.name == "Jack Sparrow"


# -- the specification's rules, with a good signature ------------------------------------------

def test_a_text_kid_as_the_specification_writes_it(test_issuer):
    result = verify(make_pass(header={4: "key-1", 1: -7}), test_issuer, NBF)
    assert (result.kid, result.holder.name, result.holder.birth_date) == (
        "key-1", "Kiri Ngata", "1984-02-29")
    assert dict(result.shows)["credential_id"] == "urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_times_at_their_edges(test_issuer):
    code = make_pass()
    assert verify(code, test_issuer, NBF).not_before == NBF
    assert verify(code, test_issuer, EXP - 1).expires_at == EXP
    assert refusal(code, test_issuer, NBF - 1) == (Reason.NOT_YET_VALID, "not_before")
    assert refusal(code, test_issuer, EXP) == (Reason.EXPIRED, "expiry")


def test_optional_family_name_and_leading_zero_version(test_issuer):
    result = verify(make_pass(claims_with((("vc", "credentialSubject", "familyName"), DROP))),
                    test_issuer, NBF)
    assert result.holder.name == "Kiri"
    assert verify(text(cose(), version="01"), test_issuer, NBF).holder.name == "Kiri Ngata"


SUBJECT = ("vc", "credentialSubject")
BAD_CLAIMS = {
    "no nbf": ((5,), DROP), "float nbf": ((5,), float(NBF)), "bool exp": ((4,), True),
    "text exp": ((4,), str(EXP)), "no cti": ((7,), DROP), "short cti": ((7,), bytes(15)),
    "text cti": ((7,), "urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
    "no vc": (("vc",), DROP), "vc a list": (("vc",), []),
    "no context": (("vc", "@context"), DROP),
    "context a text": (("vc", "@context"), "https://www.w3.org/2018/credentials/v1"),
    "context first wrong": (("vc", "@context"), ["https://nzcp.covid19.health.nz/contexts/v1",
                                                 "https://www.w3.org/2018/credentials/v1"]),
    "context not texts": (("vc", "@context"), ["https://www.w3.org/2018/credentials/v1", 1]),
    "version 1.0.1": (("vc", "version"), "1.0.1"), "no version": (("vc", "version"), DROP),
    "types swapped": (("vc", "type"), ["PublicCovidPass", "VerifiableCredential"]),
    "unknown pass type": (("vc", "type"), ["VerifiableCredential", "PrivateCovidPass"]),
    "three types": (("vc", "type"), ["VerifiableCredential", "PublicCovidPass", "X"]),
    "no subject": (SUBJECT, DROP), "subject a list": (SUBJECT, ["Kiri"]),
    "no given name": ((*SUBJECT, "givenName"), DROP),
    "empty given name": ((*SUBJECT, "givenName"), ""),
    "given name 101": ((*SUBJECT, "givenName"), "K" * 101),
    "family name 101": ((*SUBJECT, "familyName"), "N" * 101),
    "family name a number": ((*SUBJECT, "familyName"), 7),
    "no dob": ((*SUBJECT, "dob"), DROP), "dob short": ((*SUBJECT, "dob"), "1984-2-29"),
    "dob no such day": ((*SUBJECT, "dob"), "1983-02-29"),
    "dob a year": ((*SUBJECT, "dob"), "1984"), "dob bytes": ((*SUBJECT, "dob"), b"1984-02-29"),
}


@pytest.mark.parametrize("change", BAD_CLAIMS)
def test_signed_claims_off_the_data_model(change, test_issuer):
    assert refusal(make_pass(claims_with(BAD_CLAIMS[change])), test_issuer) == (
        Reason.INVALID_CLAIMS, "claims")


def test_names_at_their_longest(test_issuer):
    claims = claims_with(((*SUBJECT, "givenName"), "K" * 100), ((*SUBJECT, "familyName"),
                                                               "N" * 100))
    assert len(verify(make_pass(claims), test_issuer, NBF).holder.name) == 201


# -- hostile input: every refusal a VerificationError with its reason and step ---------------

BODY = read("valid/nzcp", ".txt")[len("NZCP:/1/"):]
#: The test issuer's pass (its base32 needs padding) with the padding written out.
PADDED = make_pass() + "=" * (-len(make_pass()) % 8)


def envelope_cases() -> dict[str, tuple[object, Reason, str]]:
    malformed = Reason.MALFORMED
    return {
        "bytes": (b"NZCP:/1/" + BODY.encode(), malformed, "prefix"),
        "too long": ("NZCP:/1/" + "A" * MAX_TEXT_LENGTH, malformed, "prefix"),
        "lower-case prefix": ("nzcp:/1/" + BODY, malformed, "prefix"),
        "no prefix": (BODY, malformed, "prefix"),
        "our own prefix": ("HCC1:" + BODY, malformed, "prefix"),
        "nothing after the prefix": ("NZCP:/", malformed, "version"),
        "nothing after the version": ("NZCP:/1", malformed, "version"),
        "no version": ("NZCP://" + BODY, malformed, "version"),
        "no slash after the version": ("NZCP:/1" + BODY, malformed, "version"),
        "version 2": ("NZCP:/2/" + BODY, malformed, "version"),
        "version 0": ("NZCP:/0/" + BODY, malformed, "version"),
        "version 11": ("NZCP:/11/" + BODY, malformed, "version"),
        "negative version": ("NZCP:/-1/" + BODY, malformed, "version"),
        "version 1.0": ("NZCP:/1.0/" + BODY, malformed, "version"),
        "another script's digit one": ("NZCP:/\u0661/" + BODY, malformed, "version"),
        "empty body": ("NZCP:/1/", malformed, "base32"),
        "lower-case base32": ("NZCP:/1/" + BODY.lower(), malformed, "base32"),
        "padding kept": (PADDED, malformed, "base32"),
        "a base32 length no encoder makes": ("NZCP:/1/" + BODY + "A" * ((1 - len(BODY)) % 8),
                                             malformed, "base32"),
        "a digit outside base32": ("NZCP:/1/1" + BODY[1:], malformed, "base32"),
        "a space inside": ("NZCP:/1/" + BODY[:9] + " " + BODY[9:], malformed, "base32"),
        "a second slash": ("NZCP:/1/" + BODY[:8] + "/" + BODY[8:], malformed, "base32"),
    }


@pytest.mark.parametrize("case", envelope_cases())
def test_envelope_refused(case, test_issuer):
    code, reason, step = envelope_cases()[case]
    assert refusal(code, test_issuer) == (reason, step)  # type: ignore[arg-type]


def test_the_padded_pass_is_good_unpadded(test_issuer):
    assert PADDED.endswith("=") and verify(PADDED.rstrip("="), test_issuer, NBF)


def _sign1(*items: object, tag: int | None = 18) -> bytes:
    body = list(items)
    return cbor2.dumps(body if tag is None else cbor2.CBORTag(tag, body))


GOOD = cbor2.loads(cose()).value  # [protected, unprotected, payload, signature]
COSE_CASES = {
    "untagged": _sign1(*GOOD, tag=None),
    "tag 17 (COSE_Mac0's)": _sign1(*GOOD, tag=17),
    "CWT tag 61 around tag 18": cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, GOOD))),
    "three members": _sign1(*GOOD[:3]),
    "five members": _sign1(*GOOD, b""),
    "a map, not an array": cbor2.dumps(cbor2.CBORTag(18, {1: GOOD[0]})),
    "protected header as text": _sign1("\xa2\x04", *GOOD[1:]),
    "unprotected header a list": _sign1(GOOD[0], [], *GOOD[2:]),
    "payload as text": _sign1(*GOOD[:2], "payload", GOOD[3]),
    "signature missing (null)": _sign1(*GOOD[:3], None),
    "trailing bytes": cose() + b"\x00",
    "two items": cose() + cose(),
    "truncated by one byte": cose()[:-1],
    "a byte string claiming 2**64-1 bytes": b"\xd2\x84\x5b" + b"\xff" * 8,
    "an array claiming 2**32-1 items": b"\xd2\x9a\xff\xff\xff\xff",
    "nested 2,000 deep": b"\xd2" + b"\x81" * 2000 + b"\x00",
    "indefinite array never closed": b"\xd2\x9f" + b"\x40" * 10,
    "a reserved head": b"\xd2\x84\x5c",
    "a date tag inside": _sign1(GOOD[0], {1: cbor2.CBORTag(1, 0)}, *GOOD[2:]),
    "a map key twice": b"\xd2\x84\x40\xa2\x01\x00\x01\x00\x40\x40",
    "just zero": b"\x00",
}


@pytest.mark.parametrize("case", COSE_CASES)
def test_cose_refused(case, test_issuer):
    assert refusal(text(COSE_CASES[case]), test_issuer) == (Reason.MALFORMED, "cose")


HEADER_CASES = {
    "no kid": ({1: -7}, Reason.MALFORMED),
    "kid an integer": ({4: 1, 1: -7}, Reason.MALFORMED),
    "empty kid": ({4: b"", 1: -7}, Reason.MALFORMED),
    "kid not UTF-8": ({4: b"\xff\xfe", 1: -7}, Reason.MALFORMED),
    "kid of 257 characters": ({4: "k" * 257, 1: -7}, Reason.MALFORMED),
    "no alg": ({4: b"key-1"}, Reason.MALFORMED),
    "alg as its JOSE name": ({4: b"key-1", 1: "ES256"}, Reason.MALFORMED),
    "alg true": ({4: b"key-1", 1: True}, Reason.MALFORMED),
    "header a list": ([4, b"key-1", 1, -7], Reason.MALFORMED),
    "ES384": ({4: b"key-1", 1: -35}, Reason.UNSUPPORTED_ALGORITHM),
    "EdDSA": ({4: b"key-1", 1: -8}, Reason.UNSUPPORTED_ALGORITHM),
    "PS256": ({4: b"key-1", 1: -37}, Reason.UNSUPPORTED_ALGORITHM),
}


@pytest.mark.parametrize("case", HEADER_CASES)
def test_headers_refused(case, test_issuer):
    header, reason = HEADER_CASES[case]
    assert refusal(make_pass(header=header), test_issuer) == (reason, "headers")


def test_kid_only_in_the_unprotected_header_is_not_read(test_issuer):
    code = make_pass(header={1: -7}, unprotected={4: b"key-1"})
    assert refusal(code, test_issuer) == (Reason.MALFORMED, "headers")


PAYLOAD_CASES = {
    "an array": cbor2.dumps([1, TEST_DID]),
    "not CBOR": b"\xff\x00",
    "empty": b"",
    "cti under tag 64, as the revoked-key example": cbor2.dumps(
        {**CLAIMS, 7: cbor2.CBORTag(64, CLAIMS[7])}),
    "a claim key twice": b"\xa2\x01\x61a\x01\x61b",
    "a float key": cbor2.dumps({1.5: TEST_DID}),
    "nested 100 deep": b"\xa1\x01" + b"\x81" * 100 + b"\x00",
}


@pytest.mark.parametrize("case", PAYLOAD_CASES)
def test_payload_refused(case, test_issuer):
    code = make_pass(payload=PAYLOAD_CASES[case])
    assert refusal(code, test_issuer) == (Reason.MALFORMED, "payload")


@pytest.mark.parametrize(("claims", "header", "outcome"), [
    (claims_with(((1,), DROP)), None, (Reason.INVALID_CLAIMS, "issuer")),
    (claims_with(((1,), TEST_DID.encode())), None, (Reason.INVALID_CLAIMS, "issuer")),
    (claims_with(((1,), "did:web:other.example")), None, (Reason.UNKNOWN_KEY, "issuer")),
    (claims_with(((1,), TEST_DID + "#key-1")), None, (Reason.UNKNOWN_KEY, "issuer")),
    (None, {4: b"key-2", 1: -7}, (Reason.UNKNOWN_KEY, "key")),
    (None, {4: b"key-1#", 1: -7}, (Reason.UNKNOWN_KEY, "key")),
    (None, {4: b"#key-1", 1: -7}, (Reason.UNKNOWN_KEY, "key")),
], ids=["no iss", "iss bytes", "iss not trusted", "iss a key id", "kid not in the document",
        "kid with a hash", "kid a relative reference"])
def test_issuer_and_key_refused(claims, header, outcome, test_issuer):
    assert refusal(make_pass(claims, header=header), test_issuer) == outcome


def test_signatures_refused(test_issuer):
    assert refusal(make_pass(key=OTHER_KEY), test_issuer) == (Reason.BAD_SIGNATURE, "signature")
    for signature in (GOOD[3][:-1], b"", bytes(64), GOOD[3] + b"\x00", b"\xff" * 64):
        code = text(_sign1(*GOOD[:3], signature))
        assert refusal(code, test_issuer) == (Reason.BAD_SIGNATURE, "signature")


def test_a_signature_is_checked_before_the_claims(test_issuer):
    """Claims off the data model under a bad signature: the signature is what is refused."""
    code = make_pass(claims_with((("vc",), DROP)), key=OTHER_KEY)
    assert refusal(code, test_issuer) == (Reason.BAD_SIGNATURE, "signature")


def test_every_truncation_is_malformed(example_issuer):
    code = read("valid/nzcp", ".txt")
    for end in range(len(code)):
        with pytest.raises(VerificationError) as caught:
            verify(code[:end], example_issuer, PINNED)
        assert caught.value.reason is Reason.MALFORMED, end


def test_mutated_passes_never_escape(example_issuer):
    """Seeded edits of the valid pass's text (a character changed, dropped or added, a piece
    swapped in from another pass) and random base32: a ForeignCode or a VerificationError,
    never another exception."""
    rng = random.Random(19)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    others = [qr_text(stem)[8:] for stem, _, _ in CASES.values()]
    outcomes: set[str] = set()
    for _ in range(1500):
        body = list(BODY)
        at = rng.randrange(len(body))
        edit = rng.randrange(4)
        if edit == 0:
            body[at] = rng.choice(alphabet)
        elif edit == 1:
            del body[at]
        elif edit == 2:
            body.insert(at, rng.choice(alphabet))
        else:
            donor = rng.choice(others)
            body[at:at + 40] = donor[at:at + 40]
        if rng.random() < 0.2:
            body = [rng.choice(alphabet) for _ in range(rng.randrange(0, 700))]
        try:
            verify("NZCP:/1/" + "".join(body), example_issuer, PINNED)
            outcomes.add("valid")
        except VerificationError as exc:
            outcomes.add(exc.reason.value)
    assert {"malformed", "bad_signature"} <= outcomes


# -- DID documents: each checked before use ---------------------------------------------------

def _doc_with(doc: dict | None = None, **changes: object) -> dict:
    doc = did_document() if doc is None else doc
    for name, value in changes.items():
        if value is DROP:
            doc.pop(name)
        else:
            doc[name] = value
    return doc


def _method_with(assertion: list[str] | None = None, **changes: object) -> dict:
    """The test document with its method changed (and its assertionMethod, if given)."""
    doc = did_document()
    _doc_with(doc["verificationMethod"][0], **changes)
    return doc if assertion is None else _doc_with(doc, assertionMethod=assertion)


def _jwk_with(**changes: object) -> dict:
    return _method_with(publicKeyJwk={**public_jwk(KEY), **changes})


def _keys(count: int) -> dict:
    return {f"k{i}": KEY for i in range(count)}


X, Y = (b64url_decode(public_jwk(KEY)[c]) for c in "xy")
#: Each document is good but for one thing (so that no later check hides a missing one).
BAD_DOCUMENTS = {
    "a list of a number": [1],
    "a text": TEST_DID,
    "no id": {"verificationMethod": [], "assertionMethod": []},
    "a did:key id": did_document("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"),
    "an id with a path": did_document(TEST_DID + "/path"),
    "an id with a query": did_document(TEST_DID + "?version=1"),
    "an id with a fragment": did_document(TEST_DID + "#key-1"),
    "methods an object": _doc_with(verificationMethod={}, assertionMethod=[]),
    "65 methods": did_document(keys=_keys(65), assertion=[]),
    "assertionMethod an object": _doc_with(assertionMethod={}),
    "65 assertions": _doc_with(assertionMethod=[TEST_DID + "#key-1"] * 65),
    "a method without id": _method_with([], id=DROP),
    "a method of another DID": _method_with(["did:web:other.example#key-1"],
                                            id="did:web:other.example#key-1"),
    "a method id without fragment": _method_with([TEST_DID], id=TEST_DID),
    "a method id with an empty fragment": _method_with([TEST_DID + "#"], id=TEST_DID + "#"),
    "a method twice": _doc_with(verificationMethod=did_document()["verificationMethod"] * 2),
    "a method not an object": _doc_with(verificationMethod=[TEST_DID + "#key-1"]),
    "assertion of an undefined key": _doc_with(assertionMethod=[TEST_DID + "#key-2"]),
    "assertion embedding a method": _doc_with(
        assertionMethod=did_document()["verificationMethod"]),
    "another type": _method_with(type="EcdsaSecp256r1VerificationKey2019"),
    "no publicKeyJwk": _method_with(publicKeyJwk=DROP),
    "a private key": _jwk_with(d=b64url(bytes(32))),
    "a symmetric key member": _jwk_with(k=b64url(bytes(32))),
    "an RSA key": _jwk_with(kty="RSA"),
    "a P-384 key": _jwk_with(crv="P-384"),
    "alg ES384": _jwk_with(alg="ES384"),
    "use enc": _jwk_with(use="enc"),
    "a short x": _jwk_with(x=b64url(X[1:])),
    "coordinates split one byte off": _jwk_with(x=b64url(X[:-1]), y=b64url(X[-1:] + Y)),
    "x padded base64": _jwk_with(x=b64url(X) + "="),
    "x a number": _jwk_with(x=7),
    "a point off the curve": _jwk_with(y=b64url(X)),
    "two documents of one DID": [did_document(), did_document()],
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS)
def test_did_document_refused(case):
    with pytest.raises(TrustListError) as caught:
        NzcpIssuers.from_bytes(json.dumps(BAD_DOCUMENTS[case]).encode())
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED
    assert caught.value.context["format"] == "nzcp"


@pytest.mark.parametrize("data", [
    b"", b"{", b"\xef\xbb\xbf{}", b"[" * 100_000, b'{"id": 1, "id": 2}', b"NaN",
    b'{"id": "did:web:a", "n": 9007199254740993}', "{\"id\": \"\udc80\"}".encode(
        "utf-8", "surrogatepass"),
    json.dumps(did_document()).encode().ljust(65_537),
], ids=["empty", "truncated", "byte-order mark", "deep", "a key twice", "NaN",
        "an integer past 2**53", "a lone surrogate", "one byte too large"])
def test_did_document_file_refused(data):
    with pytest.raises(TrustListError) as caught:
        NzcpIssuers.from_bytes(data)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


def test_did_document_forms_read():
    """Relative references, keys not allowed to sign, no assertionMethod at all."""
    doc = did_document(keys={"key-1": KEY, "key-2": OTHER_KEY}, assertion=["key-1"])
    doc["verificationMethod"][0]["id"] = "#key-1"
    doc["assertionMethod"] = ["#key-1"]
    (document,) = NzcpIssuers.from_json(doc).documents
    assert set(document.assertion_keys) == {TEST_DID + "#key-1"}
    assert document.method_ids == {TEST_DID + "#key-1", TEST_DID + "#key-2"}
    issuers = NzcpIssuers.from_json(doc)
    assert verify(make_pass(), issuers, NBF).kid == "key-1"
    assert refusal(make_pass(header={4: "key-2", 1: -7}, key=OTHER_KEY), issuers) == (
        Reason.KEY_NOT_VALID, "key")
    bare = _doc_with(assertionMethod=DROP)
    assert refusal(make_pass(), NzcpIssuers.from_json(bare)) == (Reason.KEY_NOT_VALID, "key")


def test_documents_at_their_limits(tmp_path):
    """64 methods, 64 assertions, a file of exactly the largest size: read; a byte more, by
    load too: refused."""
    (document,) = NzcpIssuers.from_json(did_document(keys=_keys(64))).documents
    assert len(document.assertion_keys) == len(document.method_ids) == 64
    largest = json.dumps(did_document()).encode().ljust(65_536)
    assert NzcpIssuers.from_bytes(largest).issuers == (TEST_DID,)
    path = tmp_path / "did.json"
    path.write_bytes(largest)
    assert NzcpIssuers.load(path).issuers == (TEST_DID,)
    path.write_bytes(largest + b" ")
    with pytest.raises(TrustListError):
        NzcpIssuers.load(path)


def test_passes_at_their_limits(test_issuer):
    """The longest text is decoded (and refused further on); a one-character kid, a 256
    character kid and a one-character given name are read."""
    assert MAX_TEXT_LENGTH == 4296  # what a QR code holds: the tests use the number itself
    longest = "NZCP:/1/" + "A" * 4288
    assert refusal(longest, test_issuer) == (Reason.MALFORMED, "cose")
    assert refusal(longest + "A", test_issuer) == (Reason.MALFORMED, "prefix")
    assert refusal(make_pass(header={4: "k" * 256, 1: -7}), test_issuer) == (
        Reason.UNKNOWN_KEY, "key")
    short_kid = NzcpIssuers.from_json(did_document(keys={"k": KEY}))
    assert verify(make_pass(header={4: b"k", 1: -7}), short_kid, NBF).kid == "k"
    one_letter = claims_with(((*SUBJECT, "givenName"), "K"))
    assert verify(make_pass(one_letter), test_issuer, NBF).holder.name == "K Ngata"
