"""SMART Health Cards for comparing the browser's verifier with Python's
(tests/test_formats_js_shc.py): cards made with tests/shccards.py that reach every step's
refusal and every field a checkpoint shows, hostile texts (truncated, flipped, oversized, deep,
zip bombs), each a named ``(texts, keys, now)`` with the keys in the form our trust list
carries them (verifier/formats/published.py). Names, not values, identify the cases: the keys
are made anew in each process."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from shccards import (
    HEALTH_CARD,
    ISS,
    NBF,
    NOW,
    PATIENT,
    b64u,
    bundle,
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

from verifier.formats import ForeignTrust
from verifier.formats.published import to_published
from verifier.formats.shc import CLOCK_SKEW, MAX_PAYLOAD_BYTES
from verifier.formats.shckeys import ShcIssuers

KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
KID = jwk(KEY)["kid"]
OTHER_ISS = "https://other.example"
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's order


def published(*issuers: tuple[str, bytes, list[bytes] | None]) -> dict[str, Any]:
    trust = ShcIssuers()
    for iss, keys, lists in issuers:
        trust = trust.merged(ShcIssuers.from_bytes(iss, keys, lists))
    return to_published(ForeignTrust(shc=trust))


#: ISS with KEY (its list: rid "gone" always, "later" before NBF + 10).
TRUSTED = published((ISS, jwks(jwk(KEY, crlVersion=1)), [crl(KID, ["gone", f"later.{NBF + 10}"])]))
KEYSETS = {
    "trusted": TRUSTED,
    "not held": published((ISS, jwks(jwk(KEY, crlVersion=1)), None)),
    "none published": published((ISS, jwks(jwk(KEY)), None)),
    "both": published((ISS, jwks(jwk(KEY, crlVersion=1)), [crl(KID, ["gone"])]),
                      (OTHER_ISS, jwks(jwk(OTHER)), None)),
    "no shc member": {},
    "no issuer": {"shc": []},
}
JWS = sign(KEY, header(KID), claims())
JWS_SIG = base64.urlsafe_b64decode(JWS.split(".")[2] + "==")


def card(payload: Any = None, head: Any = None, key: Any = KEY) -> str:
    return qr(sign(key, head or header(KID), claims() if payload is None else payload))


def swap(jws: str, part: int, value: str) -> str:
    parts = jws.split(".")
    parts[part] = value
    return ".".join(parts)


def _signature(r: int, s: int) -> str:
    return swap(JWS, 2, b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big")))


def _deep(depth: int) -> bytes:
    return deflate(b'{"a":' * depth + b"1" + b"}" * depth)


def _payload_of(size: int) -> bytes:
    base = json.dumps(claims(pad=""), separators=(",", ":")).encode()
    return base.replace(b'"pad":""', b'"pad":"' + b"x" * (size - len(base)) + b'"')


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    megabyte = b" " * (1024 * 1024)  # JSON whitespace: inflated whole, it would parse
    return b"".join([packer.compress(b"{"), *(packer.compress(megabyte) for _ in range(15)),
                     packer.compress(b"}"), packer.flush()])


def _raw(text: str) -> bytes:
    """A payload's JSON written as given (numbers Python's json.dumps cannot write)."""
    return deflate(text.encode())


def _with(**over: Any) -> str:
    return card(claims(**over))


def _fhir(*resources: dict[str, Any], types: list[Any] | None = None) -> str:
    return card(claims(vc_type=types or [HEALTH_CARD],
                       vc_credentialSubject={"fhirBundle": bundle(*resources)}))


def _lab(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", **fields}


def _coded(system: Any, code: Any) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _quantity(value_json: str, unit: str = '"%"') -> str:
    """A laboratory card whose valueQuantity.value is written as ``value_json``."""
    text = json.dumps(claims(vc_credentialSubject={"fhirBundle": bundle(
        PATIENT, _lab(valueQuantity={"value": "@", "unit": "@@"}))}))
    return card(_raw(text.replace('"@@"', unit).replace('"@"', value_json)))


def _patient(**fields: Any) -> str:
    return _fhir({"resourceType": "Patient", **fields})


def cards() -> dict[str, tuple[str, ...]]:
    """Named card texts judged under the "trusted" keys at NOW."""
    long_date = "2021-" + "9" * 120
    found: dict[str, str | tuple[str, ...]] = {
        "valid": card(), "padded": f"\n {card()} \r\n", "one of one": card().replace(
            "shc:/", "shc:/1/1/"),
        # the header
        **{f"header {i}": card(head=h) for i, h in enumerate([
            header(KID, alg="RS256"), header(KID, alg="none"), header(KID, alg=None),
            {"zip": "DEF", "kid": KID}, {"alg": "ES256", "kid": KID}, header(KID, zip="GZIP"),
            header(KID, zip=None), {"zip": "DEF", "alg": "ES256"}, header(7), header(""),
            header("k" * 100), header("k" * 101), header("\U0001f600" * 100),
            header("\U0001f600" * 101), header(KID, crit=["exp"]), header(KID, crit=None),
            b"[]", b'{"alg":"ES256","alg":"ES256","zip":"DEF","kid":"x"}', b"\xff\xfe",
            b"\xef\xbb\xbf" + json.dumps(header(KID)).encode(), b'{"a":' * 20 + b"1" + b"}" * 20,
            json.dumps(header(KID, x=2**53)).encode(),
            json.dumps(header(KID, x=2**53 - 1)).encode(),
            json.dumps(header(KID, alg="ES256\u0000")).encode(), header(KID, alg="es256")])},
        # the payload
        **{f"payload {name}": card(raw) for name, raw in {
            "array": deflate(b"[1, 2]"), "string": deflate(b'"{}"'),
            "bom": deflate(b"\xef\xbb\xbf" + json.dumps(claims()).encode()),
            "key twice": deflate(b'{"iss": "a", "iss": "b"}'), "nan": deflate(b'{"nbf": NaN}'),
            "infinity": deflate(b'{"nbf": -Infinity}'),
            "huge int": deflate(b'{"nbf": 123456789012345678901234567890}'),
            "2^53": deflate(b'{"nbf": 9007199254740992}'),
            "not utf-8": deflate(b'{"iss": "\xff"}'), "cut json": deflate(b"{"),
            "surrogate bytes": deflate(b'{"iss": "\xed\xa0\x80"}'),
            "deep 15": _deep(15), "deep 16": _deep(16), "deep 20": _deep(20),
            "very deep": _deep(100_000),
            "zlib": zlib.compress(json.dumps(claims()).encode()),
            "truncated": deflate(json.dumps(claims()).encode())[:-3],
            "trailing": deflate(json.dumps(claims()).encode()) + b"\x00",
            "plain": json.dumps(claims()).encode(), "empty": b"", "bomb": _bomb(),
            "bound": deflate(_payload_of(MAX_PAYLOAD_BYTES)),
            "bound + 1": deflate(_payload_of(MAX_PAYLOAD_BYTES + 1)),
            "stored block": zlib.compressobj(0, zlib.DEFLATED, -15).compress(
                json.dumps(claims()).encode()) + b"\x03\x00",
            "two streams": deflate(json.dumps(claims()).encode()) + deflate(b"{}"),
            "control char": _raw('{"iss": "a\tb"}'), "lone surrogate": _raw(
                json.dumps(claims(iss="\ud800"))),
        }.items()},
        # the claims
        **{f"claims {i}": card(p) for i, p in enumerate([
            claims(iss=None), claims(iss=["https://issuer.example/shc"]), claims(iss=ISS + "/"),
            claims(nbf=None), claims(nbf="1700000000"), claims(nbf=True), claims(nbf=[NBF]),
            claims(exp="never"), claims(exp=False), claims(exp=None),
            _raw(json.dumps(claims()).replace(f'"nbf": {NBF}', '"nbf": 1e400')),
            _raw(json.dumps(claims()).replace(f'"nbf": {NBF}', '"nbf": -1e400')),
            claims(vc=None), claims(vc=[]), claims(vc_type=None), claims(vc_type=HEALTH_CARD),
            claims(vc_type=["https://smarthealth.cards#immunization"]),
            claims(vc_type=[HEALTH_CARD, 1]), claims(vc_type=[HEALTH_CARD, None]),
            claims(vc_credentialSubject=None), claims(vc_credentialSubject={}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Patient"}}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle", "entry": {}}}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle"}}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle", "entry": []}}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle", "entry": [1]}}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle",
                                                        "entry": [{"resource": {}}]}}),
            claims(vc_credentialSubject={"fhirBundle": {"resourceType": "Bundle", "entry": [
                {"resource": {"resourceType": 7}}]}}),
            claims(vc_credentialSubject={"fhirBundle": bundle(PATIENT, PATIENT)}),
            claims(vc_credentialSubject={"fhirBundle": bundle(PATIENT, PATIENT)}, vc_rid="gone"),
            claims(vc_rid=7), claims(vc_rid="r" * 24), claims(vc_rid="r" * 25),
            claims(vc_rid="a.1"), claims(vc_rid=""), claims(vc_rid=None), claims(vc_rid="é"),
        ])},
        # times (exp, nbf: ints, floats, around every edge)
        **{f"times {i}": _with(**t) for i, t in enumerate([
            {"exp": NOW - CLOCK_SKEW}, {"exp": NOW - CLOCK_SKEW - 1},
            {"exp": NOW - CLOCK_SKEW - 0.5}, {"nbf": NOW + CLOCK_SKEW},
            {"nbf": NOW + CLOCK_SKEW + 0.25}, {"nbf": NBF * 1000}, {"exp": NBF},
            {"exp": NBF - 1}, {"exp": NOW - 10 * CLOCK_SKEW, "nbf": NOW - 20 * CLOCK_SKEW},
            {"nbf": NBF + 0.75, "exp": NOW + 3600.5}, {"nbf": -1.5}, {"nbf": 0},
            {"nbf": -0.0}, {"exp": 1e300}, {"exp": 2**53 - 1}, {"nbf": -(2**53 - 1)},
            {"nbf": 1e-300}, {"exp": NOW - CLOCK_SKEW + 1e-6},
        ])},
        **{f"revocation {rid} {nbf}": _with(nbf=nbf, **({} if rid is None else {"vc_rid": rid}))
           for rid, nbf in [("gone", NBF), ("later", NBF), ("later", NBF + 9.999),
                            ("later", NBF + 10), ("later", NBF + 11), ("kept", NBF),
                            (None, NBF), ("Gone", NBF)]},
        "revoked and expired": _with(exp=NOW - 3000, vc_rid="gone"),
        "unknown issuer": _with(iss=OTHER_ISS), "issuer case": _with(iss=ISS.upper()),
        "unknown kid": card(head=header(jwk(OTHER)["kid"]), key=OTHER),
        "other issuer's key": card(claims(iss=ISS), head=header(jwk(OTHER)["kid"]), key=OTHER),
        "other issuer": card(claims(iss=OTHER_ISS), head=header(jwk(OTHER)["kid"]), key=OTHER),
        # signatures
        **{f"signature {name}": qr(jws) for name, jws in {
            "payload": swap(JWS, 1, b64u(deflate(json.dumps(claims(nbf=NBF - 1)).encode()))),
            "header": swap(JWS, 0, b64u(json.dumps(header(KID, typ="JWT")).encode())),
            "cut": swap(JWS, 2, JWS.split(".")[2][:-2]), "none": swap(JWS, 2, ""),
            "der": swap(JWS, 2, b64u(b"\x30\x44\x02\x20" + bytes(32) + b"\x02\x20" + bytes(32))),
            "other key": sign(OTHER, header(KID), claims()),
            "zero": _signature(0, 0), "r = n": _signature(N, 1), "s = n": _signature(1, N),
            "all ones": swap(JWS, 2, b64u(b"\xff" * 64)),
            "high s": _signature(int.from_bytes(JWS_SIG[:32], "big"),
                                 N - int.from_bytes(JWS_SIG[32:], "big")),
            "non-canonical": swap(JWS, 2, JWS.split(".")[2][:-1] + "B"),
            "65 bytes": swap(JWS, 2, b64u(JWS_SIG + b"\x00")),
        }.items()},
        # truncations of the JWS
        **{f"cut {n}": qr(JWS[:n]) for n in (*range(0, len(JWS), 37), len(JWS) - 1,
                                               JWS.index("."), JWS.rindex("."),
                                               JWS.rindex(".") + 1)},
        "odd digits": card()[:-1], "pair 78": card() + "78", "pair 77": qr(JWS + "z"),
        # what a checkpoint shows
        **{f"shows {i}": _fhir(*r, types=t) for i, (r, t) in enumerate([
            ([PATIENT, dose("2021-03-01", status="entered-in-error"), dose("2021-01-01")], None),
            ([PATIENT, dose("2021-01-01", "1"), dose("2021-01-01", "2")], None),
            ([PATIENT, dose(long_date + "1", "1"), dose(long_date + "2", "2")], None),
            ([PATIENT, {"resourceType": "Immunization"}], None),
            ([PATIENT, {"resourceType": "Immunization", "status": None}], None),
            ([PATIENT, {"resourceType": "Immunization", "occurrenceDateTime": 7,
                        "vaccineCode": _coded("http://snomed.info/sct", "x" * 200)}], None),
            ([PATIENT, {"resourceType": "Immunization", "vaccineCode": {"coding": [
                7, {"code": 5}, {"system": 5, "code": "c"}, {"code": "d"}]}}], None),
            ([PATIENT, {"resourceType": "Immunization", "vaccineCode": _coded("s" * 150, "c")}],
             None),
            ([PATIENT, _lab(code=_coded("http://loinc.org", "94558-4"),
                            effectiveDateTime="2021-02-17",
                            valueCodeableConcept=_coded("http://snomed.info/sct", "260385009"))],
             None),
            ([PATIENT, _lab(valueString="  positive\u3000"), _lab(valueString="x" * 300)], None),
            ([PATIENT, _lab(valueString=""), _lab(valueString="\U0001f600" * 120,
                                                  effectiveDateTime="2")], None),
            ([PATIENT, _lab(valueCodeableConcept={"coding": []}, valueString="neg")], None),
            ([PATIENT, _lab(valueQuantity=[5])], None),
            ([PATIENT], [HEALTH_CARD, "https://smarthealth.cards#laboratory"]),
            ([PATIENT, _lab()], [HEALTH_CARD, "https://smarthealth.cards#immunization"]),
            ([PATIENT, {"resourceType": "Condition"}], [HEALTH_CARD, "https://example.org#o"]),
            ([PATIENT, {"resourceType": "b"}, {"resourceType": "Condition"}], None),
            ([{"resourceType": "\uffff"}, {"resourceType": "\U0001f600"}], None),
            ([{"resourceType": "\u0130MMUNIZATION"}], None), ([{"resourceType": "\u0391\u03a3"}],
                                                               None),
            ([{"resourceType": "ẞ" * 50}], None), ([{"resourceType": ""}], None),
            ([PATIENT], None), ([dose("2021-01-01")], None),
        ])},
        **{f"quantity {v}": _quantity(v) for v in [
            "5", "5.2", "1.0", "1E5", "1e16", "1e15", "123456789012345.6", "1e-5", "0.0001",
            "-0.0", "-0", "1e400", "-1e400", "null", "true", "false", '"5"', '" 5 "', "[]",
            '[1, 2.5, "a\'b", null]', '{"a": {"b": [true]}}', '"\\u0000\\u00a0\\u2028"',
            '["\\ud800", "\\ud83d\\ude00", "\\u00e9\\u0085\\u0378"]', '"\\"\'"',
            "[[[[[[[[1]]]]]]]]", '["\\"\'", "\'", "\\"", "\\\\"]',
            "123456789", "2.5e-7", "0.1", "100.0", '"' + "x" * 150 + '"',
            "1.7976931348623157e308", "5e-324", "9007199254740991"]},
        "quantity no value": card(claims(vc_credentialSubject={"fhirBundle": bundle(
            PATIENT, _lab(valueQuantity={"unit": "%"}))})),
        **{f"unit {i}": _quantity("5", u) for i, u in enumerate(
            ['""', "null", "7", '"\\u3000"', '"' + "u" * 150 + '"', '" mg "'])},
        **{f"holder {i}": _patient(**p) for i, p in enumerate([
            {"name": [{"text": "Dr. J. Q. Anyperson"}], "birthDate": "1980"},
            {"name": [{"family": "Solo"}], "birthDate": "1980-02"},
            {"name": "Jane", "birthDate": 1980}, {"name": [7, {"given": "x"}]},
            {"name": [{"given": ["x" * 500]}]}, {"name": [{"given": ["a", 7, "b"], "family": 5}]},
            {"name": [{"text": "", "given": ["\u2003Jane"], "family": "\u3000"}]},
            {"name": [{"text": "y" * 150}]}, {"name": [{"given": ["\U0001f600" * 120]}]},
            {"name": []}, {"name": [{}], "birthDate": "1980-02-29T00:00"},
            {"birthDate": "\u0661\u0669\u0668\u0660"}, {"birthDate": "1980-2-29"},
            {"birthDate": "1980-02-29\n"}, {"name": [{"given": [], "family": "F" * 120}]},
        ])},
    }
    return {name: value if isinstance(value, tuple) else (value,) for name, value in found.items()}

