"""The EU certificate's browser verifier (verifier/static/verifier/formats/dcc.js) next to the
Python one (verifier/formats/dcc.py), in a real headless Chromium: every case of the EU's
test data, then what a stranger may show a checkpoint, then the keys a trust list carries.
Same verdict (valid and the same code, or the same reason at the same step) every time."""

from __future__ import annotations

import base64
import random
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

import cbor2
import dccmaker
import foreigncases
import pytest
import test_interop_dcc as interop
from conftest import DAY, NOW
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from foreigncases import verdict
from formatspage import PAGE, js_load, js_verdicts, mismatches, serve_page
from jsverifier import open_page

from verifier.base45 import b45decode, b45encode
from verifier.cose import sig_structure
from verifier.errors import TrustListError
from verifier.formats import ForeignTrust, dcc
from verifier.formats.dcckeys import DccKeys
from verifier.formats.published import from_published, to_published

webcam = pytest.importorskip("webcam")
CORPUS = foreigncases.cases("dcc")


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    yield from serve_page()


@pytest.fixture(scope="module")
def page(origin, playwright, tmp_path_factory) -> Iterator[object]:
    with open_page(playwright, origin + PAGE, tmp_path_factory.mktemp("dcc")) as page:
        page.origin = origin
        yield page


def _clean(page) -> None:
    assert page.errors == []
    assert all(url.startswith(page.origin + "/") for url in page.asked), page.asked


def test_every_case_of_the_corpus(page):
    assert len(CORPUS) == 485
    assert mismatches(page, CORPUS) == []
    _clean(page)


# ---- what a stranger may show: generated certificates, both verifiers ----

@pytest.fixture(scope="module")
def signer():
    """``(key, DSC DER, published keys)``: a German DSC for every kind, valid around NOW."""
    key, der = dccmaker.dsc()
    return key, der, _published(DccKeys.from_der(der))


def _published(keys: DccKeys) -> dict[str, Any]:
    return to_published(ForeignTrust(dcc=keys))


def _python(texts: tuple[str, ...], keys: dict[str, Any], now: int) -> dict[str, Any]:
    return verdict(texts, from_published(keys), now)


def _same(page, calls: Iterable[tuple[tuple[str, ...], dict[str, Any], int]]) -> Counter[str]:
    """Run ``calls`` through both verifiers: the same verdict for each (asserted), no page
    error, no request off 127.0.0.1. Returns the verdicts counted, ``valid`` or
    ``step reason``."""
    calls = list(calls)
    want = [_python(*call) for call in calls]
    got = js_verdicts(page, calls)
    differ = [(call[0][0][:80], call[2], w, g)
              for call, w, g in zip(calls, want, got, strict=True) if w != g]
    assert differ == [], (len(differ), differ[:4])
    _clean(page)
    return Counter("valid" if v["valid"] else f"{v['step']} {v['reason']}" for v in want)


def _params(test: Any) -> list[Any]:
    """The argument values a parametrized test of tests/test_interop_dcc.py runs with."""
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return list(mark.args[1])


def _text(key: Any, der: bytes, payload: Any = None, **options: Any) -> str:
    return dccmaker.text(dccmaker.cose(key, der, payload, **options))


def test_the_hostile_texts_of_the_python_tests(page, signer):
    key, der, keys = signer
    good = _text(key, der)
    calls = []
    for make, _ in _params(interop.test_hostile_texts):
        text = make(good)
        if isinstance(text, str):
            calls.append(((text,), keys, NOW))
    seen = _same(page, calls)
    assert seen["prefix malformed"] == 1 and seen["decompress malformed"] == 5, seen


def test_the_hostile_envelopes_of_the_python_tests(page, signer):
    key, der, keys = signer
    calls = [((make(key, der),), keys, NOW)
             for make, _ in _params(interop.test_hostile_envelopes_are_malformed)]
    assert _same(page, calls) == {"decode malformed": 17, "decompress malformed": 1}


def test_the_unreadable_claims_of_the_python_tests(page, signer):
    key, der, keys = signer
    calls = [((_text(key, der, payload),), keys, NOW)
             for payload, _ in _params(interop.test_signed_but_unreadable_claims)]
    assert _same(page, calls) == {"claims invalid_claims": 25, "claims malformed": 3}


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
        (dccmaker.cose(key, der), _published(rsa_keys)),
        (dccmaker.cose(rsa_key, rsa_der, protected={1: -7, 4: rsa_kid}, alg=dccmaker.PS256),
         _published(rsa_keys)),
        (dccmaker.cose(key, der, protected={1: -37, 4: kid}), keys),
        (dccmaker.cose(p384_key, p384_der), _published(DccKeys.from_der(p384_der))),
        (rsa_code, _published(rsa_keys)),
        (rsa_code, _published(impostor.merged(rsa_keys))),  # the last of a kid is kept
        (rsa_code, _published(rsa_keys.merged(impostor))),
        (rsa_code, _published(impostor)),
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
    seen = _same(page, [((dccmaker.text(data),), k or {}, NOW) for data, k in cases])
    assert seen["valid"] == 9 and seen["signature unsupported_algorithm"] == 8, seen


def _strip_zero_signature(key: Any, der: bytes) -> bytes:
    """A PS256 COSE whose signature begins with a zero byte, that byte left out."""
    for n in range(4000):
        payload = cbor2.dumps(dccmaker.claims(changes={-70000: n}))
        head, signature = dccmaker.sign(key, payload, {1: dccmaker.PS256,
                                                       4: DccKeys.from_der(der).certificates[0].kid},
                                        alg=dccmaker.PS256)
        if signature[0] == 0:
            return cbor2.dumps(cbor2.CBORTag(18, [head, {}, payload, signature[1:]]))
    raise AssertionError("no signature with a leading zero")


def test_ps256(page):
    key, der = dccmaker.dsc(dccmaker.rsa_key())
    big_key, big_der = dccmaker.dsc(dccmaker.rsa_key(3072))
    keys, kid = _published(DccKeys.from_der(der)), DccKeys.from_der(der).certificates[0].kid
    body = cbor2.dumps(dccmaker.claims())
    head = cbor2.dumps({1: dccmaker.PS256, 4: kid})
    calls = [((_text(key, der, alg=dccmaker.PS256),), keys, NOW),
             ((_text(big_key, big_der, alg=dccmaker.PS256),),
              _published(DccKeys.from_der(big_der)), NOW),
             ((dccmaker.text(_strip_zero_signature(key, der)),), keys, NOW)]
    for salt in (0, 20, 31, 33, 64):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)
        signature = key.sign(sig_structure(head, body), pss, hashes.SHA256())
        data = cbor2.dumps(cbor2.CBORTag(18, [head, {}, body, signature]))
        calls += [((dccmaker.text(cbor2.dumps(cbor2.CBORTag(18, [head, {}, body, sig]))),),
                   keys, NOW) for sig in (signature, b"\x00" + signature, signature[1:])]
    # The same key published without the NULL parameters its identifier may leave out.
    plain = {"dcc": [{**keys["dcc"][0], "spki": base64.b64encode(
        base64.b64decode(keys["dcc"][0]["spki"]).replace(b"\x01\x01\x01\x05\x00", b"\x01\x01\x01")
        .replace(b"\x30\x0d\x06\x09", b"\x30\x0b\x06\x09")
        .replace(b"\x30\x82\x01\x22", b"\x30\x82\x01\x20", 1)).decode()}]}
    assert from_published(plain).dcc.certificates[0].public_key.key_size == 2048
    calls.append(((_text(key, der, alg=dccmaker.PS256),), plain, NOW))
    seen = _same(page, calls)
    assert seen["valid"] == 4, seen


def test_tampered_certificates(page, signer):
    key, der, keys = signer
    original = dccmaker.cose(key, der)
    calls = [((dccmaker.text(tamper(original)),), keys, NOW)
             for tamper in _params(interop.test_a_tampered_certificate_is_a_bad_signature)]
    assert _same(page, calls) == {"signature bad_signature": 5}


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
    calls = [((_text(k, d, p),), _published(DccKeys.from_der(d)), NOW)
             for k, d in made for p in payloads]
    text = _text(key, der)
    exp, iat = NOW + 30 * DAY, NOW - DAY
    nbf, not_after = NOW - 30 * DAY, NOW + 365 * DAY
    for now in (exp + 300, exp + 301, iat - 300, iat - 301, nbf, nbf - 1, not_after,
                not_after + 1, 0):
        calls.append(((text,), keys, now))
    seen = _same(page, calls)
    assert {"valid", "key_usage key_not_valid", "expiry expired", "issued_at not_yet_valid",
            "key_validity key_not_valid"} <= set(seen), seen


def test_test_certificates_and_leniencies(page, signer):
    key, der, keys = signer
    kid = DccKeys.from_der(der).certificates[0].kid
    calls = [((_text(key, der, dccmaker.claims(dccmaker.certificate("t", **entry))),), keys, NOW)
             for entry, _ in _params(interop.test_a_test_certificate)]
    for options, _ in _params(interop.test_the_leniencies):
        options = dict(options)
        if options.get("unprotected") == "kid and alg":
            options["unprotected"] = {1: -7, 4: kid}
        calls.append(((_text(key, der, **options),), keys, NOW))
    for tr in ("260373001", 260373001, "260415000", "other", None):
        for sc in (NOW + 300, NOW + 301, NOW - DAY):
            entry = {"tr": tr, "sc": cbor2.CBORTag(1, sc)}
            calls.append(((_text(key, der, dccmaker.claims(dccmaker.certificate("t", **entry))),),
                          keys, NOW))
    seen = _same(page, calls)
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
        health["nam"] = {k: v for k, v in zip(("gn", "fn", "gnt", "fnt"), (gn, fn, gnt, fnt))
                         if v is not None}
        yield dccmaker.claims(health)


def test_every_shown_field_and_the_holder(page, signer):
    key, der, keys = signer
    calls = []
    for payload in _entry_variants():
        try:
            calls.append(((_text(key, der, payload),), keys, NOW))
        except (ValueError, TypeError, OverflowError):
            continue
    seen = _same(page, calls)
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
            calls.append(((_text(key, der, payload),), keys, NOW))
    for payload in (b"\xd8\x00\xa0", b"\xc1\x00", b"\xa0", b"\x80", b"\xf7", b"\xf6",
                    cbor2.dumps(dccmaker.claims())[:-1], cbor2.dumps(dccmaker.claims()) + b"\x00"):
        calls.append(((_text(key, der, payload),), keys, NOW))
    seen = _same(page, calls)
    assert seen["valid"] > 10 and seen["claims malformed"] >= 2, seen


# ---- dates: Python's fromisoformat and cbor2's tags 0 and 1, to the second ----

_ISO = ["2021-02-20T12:34:56Z", "2021-02-20", "20210220", "2021-W07-6", "2021W076", "2021W07",
        "2021-W07", "2021W0712", "2021W07612", "2021-W07-12", "2021-W07-1T12",
        "2021-02-20T12:34:56.123456+01:00", "2021-02-20 12:34", "2021-02-20T12", "2021-02-20T1234",
        "2021-02-20T123456.5", "2021-02-20T12:34:56,5", "2021-02-20T12:34:56.1234567",
        "2021-02-20T12:34:56+0100", "2021-02-20T12:34:56+01", "2021-02-20T12:34:56-23:59:59.999999",
        "2021-02-20T12:34:56+24:00", "2021-02-20T12:34:56Z ", "2021-02-20T12:34:56z",
        "2021-02-20X12:34:56", "2021-02-20é12:34:56", "2021-02-20😀12:34", "2021-02-20中12:34",
        "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2020-W53-7", "2021-W53-1",
        "2026-W53-1", "0000-01-01", "0000-W01-1", "9999-W52-6", "2021-02-29", "2024-02-29",
        "2021-13-01", "2021-02-20T24:00", "2021-02-20T12:60", "2021-02-20T12:34:60",
        "٢٠٢١-٠٢-٢٠", "2021-02-20T12:34:56.+01:00", "2021-02-20T12:34:56.", "2021-02-20T",
        "2021-02-", "2021-W01-", "2021-02-20T12:34:56Z\x00", "2021-02-20T12:34:56+01:00\n",
        "2021-02-20T12:34:56+00:00:00.5", "1969-12-31T23:59:59.5", "2021-02-20T12:34:56.000001",
        "2021-02-20T1:2:3", "2021-02-20T12:3", "2021-02-20T12:34:5", "2021-02-20T12:34:56:",
        "2021-02-20T12:34:56.1,2", "2021-02-20T12:34:56+01:00Z", "2021-02-20T12:34-01:30",
        "2021-02-20T12.5", "2021-02-20T12:34.5", "2021-02-20T+01:00", "2021-02-20TZ",
        "2026-11-24T05:00:00Z", "2026-11-24T05:00:00-00:00", "2026-11-24", "2026-11-17T10:00",
        "20261124T050000", "20261124T050000Z", "20261124T0500+0100", "1234567", "12345678"]
_ISO_NOISE = "0123456789-:T.,+Z W\n٣é\x00"
_TAG0 = ["2021-02-20T12:34:56Z", "2021-02-20T12:34:56.5Z", "2021-02-20T12:34:56.1234567891Z",
         "2021-02-20T12:34:56+01:00", "2021-02-20T12:34:56-23:59", "2021-02-20T12:34:56+24:00",
         "2021-02-20T12:34:56+23:99", "2021-02-20T12:34:56+99:00", "2021-02-20T12:34:56+00:00",
         "2021-02-20T12:34:56-00:00", "2021-02-20T12:34:56Z\n", "2021-02-20T12:34:56Z\n\n",
         "2021-02-20T12:34:56", "2021-02-20 12:34:56Z", "2021-02-30T12:34:56Z",
         "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01",
         "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-00:01", "2021-02-20T24:00:00Z",
         "2021-02-20T12:34:60Z", "٢٠٢١-02-20T12:34:56Z", "2021-02-20T12:34:٥٦Z",
         "2021-02-20T12:34:5٦Z", "2021-02-20T12:34:56.٥Z", "2021-02-20T12:34:56+0١:00",
         "2021-02-20T12:34:56+١١:00", "2021-02-20T12:34:56+01:٣٠", "2021-02-20T12:34:56+1١:30",
         "2021-02-20T12:34:56.1+05:30", "2026-11-24T05:00:00Z", "2026-11-17T10:00:00+02:00", 5,
         b"2021", None]
_TAG1 = [0, -1, 1, NOW, NOW + 301, 253402300799, 253402300800, -62135596800, -62135596801,
         2**63 - 1, 2**63, -(2**63), 2**64 - 1, -(2**64), 0.5, -0.5, 1e-7, 0.0000005, 0.0000015,
         0.0000025, -0.0000005, 1.9999999, -62135596800.0, -62135596800.5, -62135596799.9999995,
         253402300799.9999995, 253402300799.999999, float("nan"), float("inf"), float("-inf"),
         1e20, NOW + 0.123456789, NOW + 300.9999999, True, False, "1", b"", [], {}, None,
         cbor2.CBORTag(1, 0), cbor2.CBORTag(0, "2021-02-20T12:34:56Z")]


@cache
def _dates() -> tuple[Any, ...]:
    chance = random.Random(19)
    noisy = []
    for _ in range(500):
        text = list(chance.choice(_ISO))
        for _ in range(chance.randint(1, 3)):
            at = chance.randrange(len(text) + 1)
            action = chance.random()
            if action < 0.4 and at < len(text):
                text[at] = chance.choice(_ISO_NOISE)
            elif action < 0.7 and at < len(text):
                del text[at]
            else:
                text.insert(at, chance.choice(_ISO_NOISE))
        noisy.append("".join(text))
    return (*_ISO, *noisy, 20210220, 2021022012, 1, 12345678901234567890,
            *(cbor2.CBORTag(0, t) for t in _TAG0), *(cbor2.CBORTag(1, n) for n in _TAG1))


def test_dates_are_read_as_python_reads_them(page, signer):
    """Each date as a test's sample time, a birth date and a vaccination date, in certificates
    valid from 1970 to 2^40: the same verdict, the same text shown; and for each sample time
    read, the clock one second each side of it, so the instants are the same to the second."""
    key, der, _ = signer
    keys = _published(DccKeys.from_der(der))
    keys["dcc"][0].update(nbf=0, exp=2**40 - 1)
    wide = {6: 0, 4: 2**40 - 1}
    calls = []
    for value in _dates():
        for payload in (dccmaker.claims(dccmaker.certificate("t", sc=value), wide),
                        dccmaker.claims({**dccmaker.certificate("v", dt=value), "dob": value}, wide)):
            try:
                text = _text(key, der, payload)
            except (ValueError, TypeError, OverflowError):
                continue
            calls.append(((text,), keys, NOW))
            if "t" in payload[-260][1]:
                try:
                    sampled = dcc.decode_unverified(text).sampled_at
                except interop.VerificationError:
                    continue
                if sampled is not None and 300 <= sampled < 2**40:
                    calls += [((text,), keys, sampled - 300), ((text,), keys, sampled - 301)]
    seen = _same(page, calls)
    assert len(calls) > 1200 and seen["valid"] > 300 and seen["content invalid_claims"] > 90, seen
    assert seen["claims malformed"] > 20 and seen["claims invalid_claims"] > 300, seen


def _random_value(chance: random.Random, depth: int = 0) -> Any:
    pick = chance.randrange(10 if depth < 3 else 6)
    if pick < 6:
        return chance.choice([*_VALUES, *_dates()[:40], chance.randrange(-(2**64), 2**64),
                              chance.random() * 1e10, chance.randbytes(chance.randrange(9))])
    if pick < 8:
        return [_random_value(chance, depth + 1) for _ in range(chance.randrange(4))]
    return {chance.choice([1, 4, 6, -260, "v", "t", "r", "nam", "dob", "sc", "tr", 0]):
            _random_value(chance, depth + 1) for _ in range(chance.randrange(4))}


def test_any_signed_value_anywhere(page, signer):
    """test_interop_dcc's property, both ways: any value at any place of a certificate."""
    key, der, keys = signer
    chance = random.Random(7)
    places = [(), *interop._PLACES[1:], (-260, 1, "v", 0), (-260, 1, "v", 0, "dn"),
              (-260, 1, "nam", "gnt"), (-260, 1, "t", 0, "sc")]
    calls = []
    for _ in range(600):
        place = chance.choice(places)
        payload: Any = dccmaker.claims(dccmaker.certificate(chance.choice("vtr")))
        payload[-260][1].setdefault("t", [{}])
        value = _random_value(chance)
        try:
            holder = payload
            for step in place[:-1]:
                holder = holder[step]
            if place:
                holder[place[-1]] = value
            else:
                payload = value
            calls.append(((_text(key, der, cbor2.dumps(payload)),), keys, NOW))
        except (ValueError, TypeError, OverflowError, KeyError, IndexError):
            continue
    seen = _same(page, calls)
    assert len(calls) > 500 and seen["valid"] > 20 and seen["claims invalid_claims"] > 300, seen


def test_random_damage(page, signer):
    """Bytes flipped, cut or added anywhere in the COSE bytes, the compressed bytes and the
    text: both verifiers refuse each at the same step, for the same reason."""
    key, der, keys = signer
    good = dccmaker.cose(key, der)
    compressed = zlib.compress(good, 9)
    text = dccmaker.text(good)
    chance = random.Random(19)
    calls = []
    for layer in ("cose", "zlib", "text"):
        for _ in range(300):
            data = bytearray(good if layer == "cose" else compressed if layer == "zlib"
                             else text.encode())
            for _ in range(chance.randint(1, 3)):
                at = chance.randrange(len(data))
                action = chance.random()
                if action < 0.6:
                    data[at] ^= 1 << chance.randrange(8)
                elif action < 0.8:
                    del data[at:at + chance.randint(1, 8)]
                else:
                    data[at:at] = chance.randbytes(chance.randint(1, 8))
            damaged = (dccmaker.text(bytes(data)) if layer == "cose"
                       else "HC1:" + b45encode(bytes(data)) if layer == "zlib"
                       else bytes(data).decode("latin-1"))
            calls.append(((damaged,), keys, NOW))
    seen = _same(page, calls)
    assert {"decompress malformed", "decode malformed", "signature bad_signature",
            "base45 malformed"} <= set(seen), seen


def test_every_truncation_and_every_bit(page, signer):
    key, der, keys = signer
    good = dccmaker.cose(key, der)
    text = dccmaker.text(good)
    compressed = zlib.compress(good, 9)
    calls = [((text[:n],), keys, NOW) for n in range(4, len(text))]
    calls += [(("HC1:" + b45encode(compressed[:n]),), keys, NOW) for n in range(len(compressed))]
    for bit in range(8 * len(compressed)):
        flipped = bytearray(compressed)
        flipped[bit // 8] ^= 1 << bit % 8
        calls.append((("HC1:" + b45encode(bytes(flipped)),), keys, NOW))
    seen = _same(page, calls)
    assert seen["valid"] <= 8 and seen["decompress malformed"] > 3000, seen  # zlib FLEVEL


def _zlib(data: bytes, **kwargs: Any) -> str:
    return "HC1:" + b45encode(zlib.compress(data, 9, **kwargs))


def test_the_bound_on_inflating(page, signer):
    """Python reads at most MAX_DECOMPRESSED + 1 bytes and takes a stream that ended there:
    a stream of MAX + 1 bytes gets to ``decode``, one of MAX + 2 stops at ``decompress``."""
    _, _, keys = signer
    limit = dcc.MAX_DECOMPRESSED
    good = b45decode(_text(*signer[:2])[4:])
    raw = zlib.decompressobj(wbits=-15)
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = raw_deflate.compress(zlib.decompress(good)) + raw_deflate.flush()
    gzip = zlib.compressobj(9, zlib.DEFLATED, 31)
    with_dictionary = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=b"HC1 dictionary")
    texts = [_zlib(bytes(n)) for n in (0, 1, limit - 1, limit, limit + 1, limit + 2, 2 * limit,
                                       2_000_000)]
    texts += [_zlib(zlib.decompress(good)[:-1]), "HC1:" + b45encode(good + b"\x00"),
              "HC1:" + b45encode(good[:-1]), "HC1:" + b45encode(good[:-4] + bytes(4)),
              "HC1:" + b45encode(body), "HC1:" + b45encode(good + good),
              "HC1:" + b45encode(gzip.compress(zlib.decompress(good)) + gzip.flush()),
              "HC1:" + b45encode(with_dictionary.compress(zlib.decompress(good))
                                 + with_dictionary.flush()),
              "HC1:" + b45encode(b"\x78\x9c\x03\x00\x00\x00\x00\x01"),  # empty stream
              "HC1:" + b45encode(b"\x78\x9c" + body[:-0 or None] + b"\x00\x00\xff\xff"),
              "HC1:" + b45encode(bytes([0x78, 0x9c]) + b"\x01\x00\x00\xff\xff" + body)]
    del raw
    # A stored block of MAX + 1 bytes followed by empty blocks: the end still reached.
    for extra in (b"", b"\x02\x00"):
        stream = zlib.compressobj(0, zlib.DEFLATED, 15)
        texts.append("HC1:" + b45encode(stream.compress(bytes(limit + 1)) + stream.flush()
                                        + extra))
    seen = _same(page, [((t,), keys, NOW) for t in texts if len(t) <= dcc.MAX_TEXT_LENGTH])
    assert seen["decode malformed"] >= 4 and seen["decompress malformed"] >= 8, seen


def test_deep_and_huge(page, signer):
    key, der, keys = signer
    calls = []
    for depth in (13, 14, 15, 16, 17, 100, 5000):
        nested = b"\x81" * depth + b"\x00"
        calls.append(((dccmaker.text(nested),), keys, NOW))
        calls.append(((dccmaker.text(b"\xd2" + b"\x84\x40\xa0" + cbor2.dumps(nested) + b"\x40"),),
                      keys, NOW))
        value: Any = "x"
        for _ in range(depth if depth < 100 else 20):
            value = [value]
        for place in ({1: value}, {-260: {1: {**dccmaker.certificate(), "x": value}}}):
            try:
                calls.append(((_text(key, der, cbor2.dumps({**dccmaker.claims(), **place})),),
                              keys, NOW))
            except RecursionError:
                continue
        tags: Any = "2021-02-20T12:34:56Z"
        for _ in range(depth if depth < 100 else 20):
            tags = cbor2.CBORTag(0, tags)
        calls.append(((_text(key, der, cbor2.dumps(dccmaker.claims(
            dccmaker.certificate("t", sc=tags)))),), keys, NOW))
    good = _text(key, der)
    for text in (good + "0" * (dcc.MAX_TEXT_LENGTH - len(good)),
                 good + "0" * (dcc.MAX_TEXT_LENGTH - len(good) + 1),
                 "HC1:" + "😀" * (dcc.MAX_TEXT_LENGTH - 4), "HC1:" + "😀" * (dcc.MAX_TEXT_LENGTH - 3),
                 "HC1:" + "é" * 10, "HC1:" + "0" * 100_000, " \u3000" + good + "\x85\n",
                 "\u200b" + good, good + "\u200b", "hc1:" + good[4:], "HC1" + good[4:]):
        calls.append(((text,), keys, NOW))
    seen = _same(page, calls)
    assert seen["prefix malformed"] == 3 and seen["valid"] >= 2, seen


# ---- the keys a trust list carries: loadKeys refuses what from_published refuses ----

def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    head = bytes([size]) if size < 128 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + \
        size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + head + body


def _spki(algorithm: bytes, key: bytes) -> str:
    return base64.b64encode(_der(0x30, _der(0x30, algorithm) + _der(0x03, b"\x00" + key))).decode()


_EC = bytes.fromhex("06072a8648ce3d0201")
_P256 = bytes.fromhex("06082a8648ce3d030107")
_RSA = bytes.fromhex("06092a864886f70d010101")


def _spkis() -> dict[str, str]:
    """Public keys of every kind, well and badly formed, as base64 SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def spki(key: Any) -> bytes:
        return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)

    p256 = ec.generate_private_key(ec.SECP256R1())
    point = p256.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    compressed = p256.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    good = spki(p256)
    rsa2048 = spki(dccmaker.rsa_key())
    n = dccmaker.rsa_key().public_key().public_numbers().n

    def rsa_spki(modulus: int, exponent: int, params: bytes = b"\x05\x00") -> str:
        def integer(v: int) -> bytes:
            return _der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))
        return _spki(_RSA + params, _der(0x30, integer(modulus) + integer(exponent)))

    b64 = {name: base64.b64encode(value).decode() for name, value in {
        "p256": good, "p384": spki(ec.generate_private_key(ec.SECP384R1())),
        "p521": spki(ec.generate_private_key(ec.SECP521R1())),
        "secp256k1": spki(ec.generate_private_key(ec.SECP256K1())),
        "brainpool": spki(ec.generate_private_key(ec.BrainpoolP256R1())),
        "ed25519": spki(ed25519.Ed25519PrivateKey.generate()),
        "rsa2048": rsa2048, "rsa1024": spki(rsa.generate_private_key(65537, 1024)),
        "rsa3072": spki(dccmaker.rsa_key(3072)), "trailing byte": good + b"\x00",
        "truncated": good[:-1], "empty": b"", "garbage": b"\x30\x03\x02\x01\x00",
        "long form length": b"\x30\x81" + good[1:],
    }.items()}
    off_curve = bytearray(point)
    off_curve[-1] ^= 1
    b64.update({
        "compressed point": _spki(_EC + _P256, compressed),
        "point off the curve": _spki(_EC + _P256, bytes(off_curve)),
        "no curve": _spki(_EC, point), "rsa e=3": rsa_spki(n, 3), "rsa e=2": rsa_spki(n, 2),
        "rsa e=2^64+1": rsa_spki(n, 2**64 + 1), "rsa e=1": rsa_spki(n, 1),
        "rsa e=4": rsa_spki(n, 4), "rsa e=n": rsa_spki(n, n), "rsa e=n-2": rsa_spki(n, n - 2),
        "rsa negative modulus": rsa_spki(n, 65537).replace("AoIBAQC", "AoIBAQD"), "rsa no NULL": rsa_spki(n, 65537, b""),
        "rsa 2047 bits": rsa_spki(n >> 1 | 1, 65537), "rsa even modulus": rsa_spki(n - 1, 65537),
    })
    return b64


def _entries() -> list[tuple[str, Any]]:
    """(name, the dcc member): a good one, then each mutation of it."""
    key, der = dccmaker.dsc()
    good = _published(DccKeys.from_der(der))["dcc"][0]
    rsa_entry = _published(DccKeys.from_der(dccmaker.dsc(dccmaker.rsa_key())[1]))["dcc"][0]
    members: list[tuple[str, Any]] = [("good", [good]), ("two", [good, rsa_entry]),
                                      ("empty", []), ("twice", [good, good])]
    members += [(f"dcc {v!r}", v) for v in ({}, "x", None, 1, True, {"0": good})]
    members += [(f"entry {v!r}", [good, v]) for v in ([], "x", None, 1, [good])]
    changes: dict[str, list[Any]] = {
        "kid": [None, 1, "", "AAAAAAAAAAA=", "AAAAAAAAAAB=", "AAAAAAAAAAA", "AAAAAAAAAA==",
                "AAAAAAAAAAAA", "AAAAAAAAAAA==", "=AAAAAAAAAAA", "AAAAAAAA-AA=", "AAAAAAAA AAA=",
                "AAAAAAAAAAA=\n", "AAAAAAAAAAÀ=", ["AAAAAAAAAAA="], "AAAAAAAAAAAAAAAA"],
        "spki": [None, 1, [], "", *_spkis().items(), good["spki"] + "=", good["spki"][:-1],
                 " " + good["spki"]],
        "country": [None, "DE", "de", "DEU", "D", "", 1, ["DE"], "DÉ", "DE\n", "ÄÖ"],
        "types": [[], ["test"], ["test", "test"], ["test", "vaccination", "recovery"], ["x"],
                  "test", None, [1], [None], [True], ["Test"], {"test": 1}],
        "nbf": [None, -1, 0, 2**40 - 1, 2**40, 2**53 + 1, 10**30, True, "1", [1],
                good["exp"], good["exp"] - 1, good["exp"] + 1],
        "exp": [None, 0, 1, 2**40 - 1, 2**40, -5, False, good["nbf"], good["nbf"] + 1],
        "extra": [1, None, {"nested": []}],
    }
    for name, values in changes.items():
        for value in values:
            if isinstance(value, tuple):  # a named key
                members.append((f"spki {value[0]}", [{**good, name: value[1]}]))
                continue
            members.append((f"{name}={value!r}"[:300], [{**good, name: value}]))
        if name != "extra":
            members.append((f"no {name}", [{k: v for k, v in good.items() if k != name}]))
    return members


def _python_load(member: Any) -> dict[str, Any]:
    try:
        from_published(member)
    except TrustListError as exc:
        return {"valid": False, "reason": exc.reason.value, "step": None}
    return {"valid": True}


def test_load_keys_accepts_exactly_what_python_accepts(page):
    members = [(name, {"dcc": dcc_member}) for name, dcc_member in _entries()]
    members += [("no dcc", {}), ("null", None), ("other format", {"dcc": [], "eu": []})]
    got = js_load(page, [member for _, member in members])
    want = [_python_load(member) if member is not None else {"valid": True}
            for _, member in members]
    differ = [(name, w, g) for (name, _), w, g in zip(members, want, got, strict=True) if w != g]
    assert differ == [], [(d[0][:20], d[1:]) for d in differ]
    accepted = sum(w["valid"] for w in want)
    assert accepted > 20 and len(want) - accepted > 80, (accepted, len(want))
    _clean(page)


def test_load_keys_bounds(page):
    key, der = dccmaker.dsc()
    good = _published(DccKeys.from_der(der))["dcc"][0]
    members = [{"dcc": [good] * 20_000}, {"dcc": [good] * 20_001}]
    assert js_load(page, members) == [_python_load(m) for m in members] == [
        {"valid": True}, {"valid": False, "reason": "trust_list_malformed", "step": None}]
    _clean(page)
