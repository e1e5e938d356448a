"""dcc.js's loadKeys against verifier/formats/published.py's from_published: the `dcc` member
of a trust list mutated every way (types, base64, keys of every kind well and badly encoded,
countries, types, windows, unknown members, too many entries): accepted or refused alike."""

from __future__ import annotations

import base64
from typing import Any

import dccmaker
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from dccjs import published
from formatspage import clean, js_load, page_fixtures, python_load

from verifier.formats.dcckeys import DccKeys

origin, page = page_fixtures("dcckeys")
webcam = pytest.importorskip("webcam")


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
        "rsa modulus a byte short": base64.b64encode(base64.b64decode(rsa_spki(n, 65537)).replace(
            b"\x02\x82\x01\x01\x00", b"\x02\x82\x01\x00", 1)).decode(),
        "rsa no NULL": rsa_spki(n, 65537, b""),
        "rsa 2047 bits": rsa_spki(n >> 1 | 1, 65537), "rsa even modulus": rsa_spki(n - 1, 65537),
    })
    return b64


def _entries() -> list[tuple[str, Any]]:
    """(name, the dcc member): a good one, then each mutation of it."""
    key, der = dccmaker.dsc()
    good = published(DccKeys.from_der(der))["dcc"][0]
    rsa_entry = published(DccKeys.from_der(dccmaker.dsc(dccmaker.rsa_key())[1]))["dcc"][0]
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


def test_load_keys_accepts_exactly_what_python_accepts(page):
    members = [(name, {"dcc": dcc_member}) for name, dcc_member in _entries()]
    members += [("no dcc", {}), ("null", None), ("other format", {"dcc": [], "eu": []})]
    got = js_load(page, [member for _, member in members])
    want = [python_load(member) for _, member in members]
    differ = [(name, w, g) for (name, _), w, g in zip(members, want, got, strict=True) if w != g]
    assert differ == [], [(d[0][:20], d[1:]) for d in differ]
    accepted = sum(w["valid"] for w in want)
    assert accepted > 20 and len(want) - accepted > 80, (accepted, len(want))
    clean(page)


def test_load_keys_bounds(page):
    key, der = dccmaker.dsc()
    good = published(DccKeys.from_der(der))["dcc"][0]
    members = [{"dcc": [good] * 20_000}, {"dcc": [good] * 20_001}]
    assert js_load(page, members) == [python_load(m) for m in members] == [
        {"valid": True}, {"valid": False, "reason": "trust_list_malformed", "step": None}]
    clean(page)
