"""dcc.js against dcc.py on what a reader of dates, of zlib and of CBOR must survive: every date
form Python's fromisoformat and cbor2's tags 0 and 1 read or refuse (the instant compared to the
second), any value anywhere, random damage at three layers, every truncation and every bit
flipped, the bound on inflating, deep nesting and huge texts."""

from __future__ import annotations

import random
import zlib
from functools import cache
from typing import Any

import cbor2
import dccmaker
import pytest
import test_interop_dcc as interop
from conftest import NOW
from dccjs import make_signer, published, same, signed_text
from formatspage import page_fixtures
from test_formats_js_dcc import _VALUES

from verifier.base45 import b45decode, b45encode
from verifier.formats import dcc
from verifier.formats.dcckeys import DccKeys

origin, page = page_fixtures("dccinputs")
webcam = pytest.importorskip("webcam")


@pytest.fixture(scope="module")
def signer():
    """``(key, DSC DER, published keys)``: a German DSC for every kind, valid around NOW."""
    return make_signer()


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
    keys = published(DccKeys.from_der(der))
    keys["dcc"][0].update(nbf=0, exp=2**40 - 1)
    wide = {6: 0, 4: 2**40 - 1}
    calls = []
    for value in _dates():
        for payload in (dccmaker.claims(dccmaker.certificate("t", sc=value), wide),
                        dccmaker.claims({**dccmaker.certificate("v", dt=value), "dob": value},
                                        wide)):
            try:
                code = signed_text(key, der, payload)
            except (ValueError, TypeError, OverflowError):
                continue
            calls.append(((code,), keys, NOW))
            if "t" in payload[-260][1]:
                try:
                    sampled = dcc.decode_unverified(code).sampled_at
                except interop.VerificationError:
                    continue
                if sampled is not None and 300 <= sampled < 2**40:
                    calls += [((code,), keys, sampled - 300), ((code,), keys, sampled - 301)]
    seen = same(page, calls)
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
            calls.append(((signed_text(key, der, cbor2.dumps(payload)),), keys, NOW))
        except (ValueError, TypeError, OverflowError, KeyError, IndexError):
            continue
    seen = same(page, calls)
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
    seen = same(page, calls)
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
    seen = same(page, calls)
    assert seen["valid"] <= 8 and seen["decompress malformed"] > 3000, seen  # zlib FLEVEL


def _zlib(data: bytes, **kwargs: Any) -> str:
    return "HC1:" + b45encode(zlib.compress(data, 9, **kwargs))


def test_the_bound_on_inflating(page, signer):
    """A stream of MAX_DECOMPRESSED bytes gets to ``decode``, one of MAX + 1 stops at
    ``decompress``, in both."""
    _, _, keys = signer
    limit = dcc.MAX_DECOMPRESSED
    good = b45decode(signed_text(*signer[:2])[4:])
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
    seen = same(page, [((t,), keys, NOW) for t in texts if len(t) <= dcc.MAX_TEXT_LENGTH])
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
                calls.append(((signed_text(key, der, cbor2.dumps({**dccmaker.claims(), **place})),),
                              keys, NOW))
            except RecursionError:
                continue
        tags: Any = "2021-02-20T12:34:56Z"
        for _ in range(depth if depth < 100 else 20):
            tags = cbor2.CBORTag(0, tags)
        calls.append(((signed_text(key, der, cbor2.dumps(dccmaker.claims(
            dccmaker.certificate("t", sc=tags)))),), keys, NOW))
    good = signed_text(key, der)
    most = dcc.MAX_TEXT_LENGTH
    for code in (good + "0" * (most - len(good)), good + "0" * (most - len(good) + 1),
                 "HC1:" + "😀" * (most - 4), "HC1:" + "😀" * (most - 3),
                 "HC1:" + "é" * 10, "HC1:" + "0" * 100_000, " \u3000" + good + "\x85\n",
                 "\u200b" + good, good + "\u200b", "hc1:" + good[4:], "HC1" + good[4:]):
        calls.append(((code,), keys, NOW))
    seen = same(page, calls)
    assert seen["prefix malformed"] == 3 and seen["valid"] >= 2, seen
