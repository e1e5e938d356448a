"""The EU certificate's browser verifier (verifier/static/verifier/formats/dcc.js) next to the
Python one (verifier/formats/dcc.py), in a real headless Chromium: every case of the EU's
test data, then every hostile input of tests/test_interop_dcc.py and more made to order (keys,
algorithms, key usage, times, every shown field with values of every type). Same verdict (valid
and the same code, or the same reason at the same step) every time. Also
test_formats_js_dcc_inputs.py (dates, damage, bounds) and test_formats_js_dcc_keys.py (the keys
a trust list carries)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import cbor2
import dccmaker
import foreigncases
import pytest
import test_interop_dcc as interop
from conftest import DAY, NOW
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from dccjs import make_signer, params, published, same, signed_text
from formatspage import clean, mismatches, page_fixtures

from verifier.cose import sig_structure
from verifier.formats.dcckeys import DccKeys
from verifier.formats.published import from_published

CORPUS = foreigncases.cases("dcc")
origin, page = page_fixtures("dcc")
webcam = pytest.importorskip("webcam")


@pytest.fixture(scope="module")
def signer():
    """``(key, DSC DER, published keys)``: a German DSC for every kind, valid around NOW."""
    return make_signer()


def test_every_case_of_the_corpus(page):
    assert len(CORPUS) == 485
    assert mismatches(page, CORPUS) == []
    clean(page)


def test_the_hostile_texts_of_the_python_tests(page, signer):
    key, der, keys = signer
    good = signed_text(key, der)
    calls = []
    for make, _ in params(interop.test_hostile_texts):
        text = make(good)
        if isinstance(text, str):
            calls.append(((text,), keys, NOW))
    seen = same(page, calls)
    assert seen["prefix malformed"] == 1 and seen["decompress malformed"] == 5, seen


def test_the_hostile_envelopes_of_the_python_tests(page, signer):
    key, der, keys = signer
    calls = [((make(key, der),), keys, NOW)
             for make, _ in params(interop.test_hostile_envelopes_are_malformed)]
    assert same(page, calls) == {"decode malformed": 17, "decompress malformed": 1}


def test_the_unreadable_claims_of_the_python_tests(page, signer):
    key, der, keys = signer
    calls = [((signed_text(key, der, payload),), keys, NOW)
             for payload, _ in params(interop.test_signed_but_unreadable_claims)]
    assert same(page, calls) == {"claims invalid_claims": 25, "claims malformed": 3}


def test_which_key_and_which_algorithm(page, signer):
    key, der, keys = signer
    kid = DccKeys.from_der(der).certificates[0].kid
    rsa_key, rsa_der = dccmaker.dsc(dccmaker.rsa_key())
    rsa_keys = DccKeys.from_der(rsa_der)
    rsa_kid = rsa_keys.certificates[0].kid
    p384_key, p384_der = dccmaker.dsc(ec.generate_private_key(ec.SECP384R1()))
    rsa_code = dccmaker.cose(rsa_key, rsa_der, alg=dccmaker.PS256)
    impostor = DccKeys.from_der(der, kid=rsa_kid)
    cases = [
        (dccmaker.cose(key, der, protected={1: -8, 4: kid}), keys),
        (dccmaker.cose(key, der, protected={4: kid}), keys),
        (dccmaker.cose(key, der, protected={1: None, 4: kid}), keys),
        (dccmaker.cose(key, der, protected={1: -7}), keys),
        (dccmaker.cose(key, der, protected={1: -7, 4: b""}), keys),
        (dccmaker.cose(key, der, protected={1: -7, 4: b"foo"}), keys),
        (dccmaker.cose(key, der), None),
        (dccmaker.cose(key, der), {"dcc": []}),
        (dccmaker.cose(key, der), published(rsa_keys)),
        (dccmaker.cose(rsa_key, rsa_der, protected={1: -7, 4: rsa_kid}, alg=dccmaker.PS256),
         published(rsa_keys)),
        (dccmaker.cose(key, der, protected={1: -37, 4: kid}), keys),
        (dccmaker.cose(p384_key, p384_der), published(DccKeys.from_der(p384_der))),
        (rsa_code, published(rsa_keys)),
        (rsa_code, published(impostor.merged(rsa_keys))),  # both of the kid are tried
        (rsa_code, published(rsa_keys.merged(impostor))),
        (rsa_code, published(impostor)),
        (dccmaker.cose(key, der, protected={}, unprotected={1: -7, 4: kid}), keys),
        (dccmaker.cose(key, der, protected={4: kid}, unprotected={1: -7}), keys),
        (dccmaker.cose(key, der, protected={1: -7}, unprotected={4: kid}), keys),
        (dccmaker.cose(key, der, protected={1: -7, 4: kid}, unprotected={4: b"x" * 8}), keys),
        (dccmaker.cose(key, der, protected={1: -7, 4: b"x" * 8}, unprotected={4: kid}), keys),
        (dccmaker.cose(key, der, protected={1: -7, 4: kid}, unprotected={1: -37}), keys),
        (dccmaker.cose(key, der, protected={1: -7, 4: kid, "x": 1}), keys),
        (dccmaker.cose(key, der, protected=cbor2.dumps({1: -7, 4: kid}, canonical=True)
                       .replace(b"\xa2", b"\xbf", 1) + b"\xff"), keys),
    ]
    seen = same(page, [((dccmaker.text(data),), k or {}, NOW) for data, k in cases])
    assert seen["valid"] == 10 and seen["signature unsupported_algorithm"] == 7, seen


def _strip_zero_signature(key: Any, der: bytes) -> bytes:
    """A PS256 COSE whose signature begins with a zero byte, that byte left out."""
    for n in range(4000):
        payload = cbor2.dumps(dccmaker.claims(changes={-70000: n}))
        kid = DccKeys.from_der(der).certificates[0].kid
        head, signature = dccmaker.sign(key, payload, {1: dccmaker.PS256, 4: kid},
                                        alg=dccmaker.PS256)
        if signature[0] == 0:
            return cbor2.dumps(cbor2.CBORTag(18, [head, {}, payload, signature[1:]]))
    raise AssertionError("no signature with a leading zero")


def test_ps256(page):
    key, der = dccmaker.dsc(dccmaker.rsa_key())
    big_key, big_der = dccmaker.dsc(dccmaker.rsa_key(3072))
    keys, kid = published(DccKeys.from_der(der)), DccKeys.from_der(der).certificates[0].kid
    body = cbor2.dumps(dccmaker.claims())
    head = cbor2.dumps({1: dccmaker.PS256, 4: kid})
    calls = [((signed_text(key, der, alg=dccmaker.PS256),), keys, NOW),
             ((signed_text(big_key, big_der, alg=dccmaker.PS256),),
              published(DccKeys.from_der(big_der)), NOW),
             ((dccmaker.text(_strip_zero_signature(key, der)),), keys, NOW)]
    for salt in (0, 20, 31, 33, 64):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)
        signature = key.sign(sig_structure(head, body), pss, hashes.SHA256())
        calls += [((dccmaker.text(cbor2.dumps(cbor2.CBORTag(18, [head, {}, body, sig]))),),
                   keys, NOW) for sig in (signature, b"\x00" + signature, signature[1:])]
    # The same key published without the NULL parameters its identifier may leave out.
    plain = {"dcc": [{**keys["dcc"][0], "spki": base64.b64encode(
        base64.b64decode(keys["dcc"][0]["spki"]).replace(b"\x01\x01\x01\x05\x00", b"\x01\x01\x01")
        .replace(b"\x30\x0d\x06\x09", b"\x30\x0b\x06\x09")
        .replace(b"\x30\x82\x01\x22", b"\x30\x82\x01\x20", 1)).decode()}]}
    assert from_published(plain).dcc.certificates[0].public_key.key_size == 2048
    calls.append(((signed_text(key, der, alg=dccmaker.PS256),), plain, NOW))
    seen = same(page, calls)
    assert seen["valid"] == 4, seen


def test_tampered_certificates(page, signer):
    key, der, keys = signer
    original = dccmaker.cose(key, der)
    calls = [((dccmaker.text(tamper(original)),), keys, NOW)
             for tamper in params(interop.test_a_tampered_certificate_is_a_bad_signature)]
    assert same(page, calls) == {"signature bad_signature": 5}


def test_key_usage_country_and_times(page, signer):
    key, der, keys = signer
    made = [dccmaker.dsc(eku=(dccmaker.TEST,)), dccmaker.dsc(eku=("1.3.6.1.4.1.0.1847.2021.1.2",)),
            dccmaker.dsc(eku=("2.23.136.1.1.14.2",)), dccmaker.dsc(country="FR"),
            dccmaker.dsc(country=None), dccmaker.dsc(eku=(dccmaker.TEST, dccmaker.RECOVERY)),
            dccmaker.dsc(not_before=NOW - 400 * DAY, not_after=NOW - DAY // 2),
            dccmaker.dsc(not_before=NOW + DAY, not_after=NOW + 400 * DAY)]
    payloads = [None, dccmaker.claims(dccmaker.certificate("t")),
                dccmaker.claims(dccmaker.certificate("r")), dccmaker.claims(changes={1: "FR"}),
                dccmaker.claims(changes={1: "fr"}), dccmaker.claims(changes={1: 7}),
                dccmaker.claims(changes={1: ""}), dccmaker.claims(changes={1: "FRA"})]
    calls = [((signed_text(k, d, p),), published(DccKeys.from_der(d)), NOW)
             for k, d in made for p in payloads]
    text = signed_text(key, der)
    exp, iat = NOW + 30 * DAY, NOW - DAY
    nbf, not_after = NOW - 30 * DAY, NOW + 365 * DAY
    for now in (exp + 300, exp + 301, iat - 300, iat - 301, nbf, nbf - 1, not_after,
                not_after + 1, 0):
        calls.append(((text,), keys, now))
    seen = same(page, calls)
    assert {"valid", "key_usage key_not_valid", "expiry expired", "issued_at not_yet_valid",
            "key_validity key_not_valid"} <= set(seen), seen


def test_test_certificates_and_leniencies(page, signer):
    key, der, keys = signer
    kid = DccKeys.from_der(der).certificates[0].kid
    def test_code(**entry: Any) -> str:
        return signed_text(key, der, dccmaker.claims(dccmaker.certificate("t", **entry)))

    calls = [((test_code(**entry),), keys, NOW)
             for entry, _ in params(interop.test_a_test_certificate)]
    for options, _ in params(interop.test_the_leniencies):
        options = dict(options)
        if options.get("unprotected") == "kid and alg":
            options["unprotected"] = {1: -7, 4: kid}
        calls.append(((signed_text(key, der, **options),), keys, NOW))
    for tr in ("260373001", 260373001, "260415000", "other", None):
        for sc in (NOW + 300, NOW + 301, NOW - DAY):
            calls.append(((test_code(tr=tr, sc=cbor2.CBORTag(1, sc)),), keys, NOW))
    seen = same(page, calls)
    assert seen["content invalid_claims"] >= 4 and seen["valid"] >= 8, seen


#: Values a signed field may hold, from every type the certificate's CBOR allows.
_VALUES = ["Erika", "", " ", "x" * 256, "x" * 257, "😀" * 256, "😀" * 257, "a<b<<c", "  ",
           "\u3000", 0, 7, -1, 2**64 - 1, -(2**64), 1.5, float("nan"), True, False, None,
           cbor2.undefined, b"bytes", [], ["x"], {}, {"a": 1}, "1964", "1964-08", "1964-08-12",
           "1964-08-12T10:00:00", "١٩٦٤-٠٨-١٢", "64-08-12", "1964-8-12", "1964-08-12-01",
           cbor2.CBORTag(0, "1964-08-12T10:00:00Z"), cbor2.CBORTag(1, 0), cbor2.CBORTag(1, -1.5),
           "LP6464-4", "LP217198-3", "260415000", "260373001", "2021-02-20T12:34:56Z"]


def _entry_variants() -> Iterator[dict[str, Any]]:
    """Health certificates of each kind with each shown field (and the holder's) replaced by
    each value, or left out."""
    fields = {"v": ("dn", "sd", "mp", "dt", "co", "is"), "t": ("tt", "tr", "sc", "co", "is"),
              "r": ("fr", "df", "du", "co", "is")}
    for kind, names in fields.items():
        for name in names:
            for value in [*_VALUES, "leave out"]:
                health = dccmaker.certificate(kind)
                if value == "leave out":
                    del health[kind][0][name]
                else:
                    health[kind][0][name] = value
                yield dccmaker.claims(health)
    for name in ("gn", "fn", "gnt", "fnt", "dob", "nam"):
        for value in [*_VALUES, "leave out"]:
            health = dccmaker.certificate("v")
            holder = health if name in ("dob", "nam") else health["nam"]
            if value == "leave out":
                del holder[name]
            else:
                holder[name] = value
            yield dccmaker.claims(health)
    for gn, fn, gnt, fnt in (("", "", "ERIKA", "MUSTER<MANN"), (None, None, "<", "<"),
                             ("", " ", "", ""), (" Erika ", "", "X", "Y"), (None, "M", "E", "F")):
        health = dccmaker.certificate("v")
        health["nam"] = {k: v for k, v in zip(("gn", "fn", "gnt", "fnt"), (gn, fn, gnt, fnt),
                                                        strict=True)
                         if v is not None}
        yield dccmaker.claims(health)


def test_every_shown_field_and_the_holder(page, signer):
    key, der, keys = signer
    calls = []
    for payload in _entry_variants():
        try:
            calls.append(((signed_text(key, der, payload),), keys, NOW))
        except (ValueError, TypeError, OverflowError):
            continue
    seen = same(page, calls)
    assert len(calls) > 900 and seen["valid"] > 300 and seen["claims invalid_claims"] > 300, seen


def test_claims_of_every_type(page, signer):
    key, der, keys = signer
    calls = []
    for label in (1, 4, 6, -260):
        for value in [*_VALUES, NOW, NOW + 0.999, float(NOW), 2.0**40, 2**40 - 1, 2**40,
                      float("inf"), -0.5, 1e300, {1: dccmaker.certificate(), 2: 1},
                      {1: {**dccmaker.certificate(), "t": [{}]}}]:
            try:
                payload = cbor2.dumps(dccmaker.claims(changes={label: value}))
            except (ValueError, TypeError, OverflowError):
                continue
            calls.append(((signed_text(key, der, payload),), keys, NOW))
    for payload in (b"\xd8\x00\xa0", b"\xc1\x00", b"\xa0", b"\x80", b"\xf7", b"\xf6",
                    cbor2.dumps(dccmaker.claims())[:-1], cbor2.dumps(dccmaker.claims()) + b"\x00"):
        calls.append(((signed_text(key, der, payload),), keys, NOW))
    seen = same(page, calls)
    assert seen["valid"] > 10 and seen["claims malformed"] >= 2, seen
