"""The ``foreign.shc`` member of a trust list (verifier/formats/published.py), mutated every way
a hostile or careless authority could write it, each mutation named: for comparing the
browser's loadKeys with Python's from_published (tests/test_formats_js_shc.py). Only what
JSON can say, and no integer past 2**53 nor float equal to an integer (``1.0``): the browser's
JSON.parse reads those as another value."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import shchostile as h
from shccards import b64u, jwk

P = 2**256 - 2**224 + 2**192 + 2**96 - 1


def _base() -> dict[str, Any]:
    return copy.deepcopy(h.KEYSETS["both"])


def _edit(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    member = _base()
    change(member["shc"])
    return member


def _entry(**over: Any) -> dict[str, Any]:
    return _edit(lambda shc: shc[0].update(over))


def _key(**over: Any) -> dict[str, Any]:
    return _edit(lambda shc: shc[0]["keys"][0].update(over))


def _drop_key(name: str) -> dict[str, Any]:
    return _edit(lambda shc: shc[0]["keys"][0].pop(name))


def _crl(**over: Any) -> dict[str, Any]:
    return _edit(lambda shc: shc[0]["crls"][0].update(over))


def _point(x: int, y: int) -> dict[str, Any]:
    """A key entry for the point (x, y), its kid the thumbprint of what it says."""
    members = {"crv": "P-256", "kty": "EC", "x": b64u(x.to_bytes(32, "big")),
               "y": b64u(y.to_bytes(32, "big"))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return {"kid": b64u(hashlib.sha256(canonical).digest()), "x": members["x"],
            "y": members["y"]}


def _issuers(count: int) -> dict[str, Any]:
    one = h.KEYSETS["none published"]["shc"][0]
    return {"shc": [{**one, "iss": f"https://i{i}.example"} for i in range(count)]}


def load_mutations() -> dict[str, Any]:
    """Named ``foreign`` members."""
    numbers = h.KEY.public_key().public_numbers()
    x, y = numbers.x, numbers.y
    base_key = h.KEYSETS["both"]["shc"][0]["keys"][0]
    other_kid = jwk(h.OTHER)["kid"]
    found: dict[str, Any] = {
        "as made": _base(), "trusted": h.TRUSTED, "none published": h.KEYSETS["none published"],
        "empty": {"shc": []}, "no member": {}, "unknown format": {"shc": [], "xyz": []},
        "toString": {"toString": []}, "__proto__": {"__proto__": []},
        **{f"shc {v!r}": {"shc": v} for v in (None, {}, "x", 1, True)},
        **{f"entry {v!r}": {"shc": [v]} for v in (None, [], "x", 1, {})},
        "1000 issuers": _issuers(1000), "1001 issuers": _issuers(1001),
        "twice": _edit(lambda shc: shc.append(copy.deepcopy(shc[0]))),
        "same keys, two issuers": _edit(lambda shc: shc[1].update(keys=shc[0]["keys"])),
        "unknown member": _entry(extra={"a": 1}),
        **{f"iss {v!r}": _entry(iss=v) for v in (
            None, 7, [], "", "http://issuer.example", "https://", "https:/x", "HTTPS://x.example",
            "https://x.example/", "https://x.example/a/", "https://x.example/a b",
            "https://x example", "https://x.example?q", "https://x.example/#f",
            "https://x.example/a\u3000", "https://x.example/a\u00a0b", "https://x.example/\u0085",
            "https://x.example/a\u200bb", "https://x.example\n", "https://x.example/\U0001f600",
            "https://x.example:8443/p", "https://x.example//", "https://" + "x" * 1016,
            "https://" + "x" * 1017, "https://" + "\U0001f600" * 1016,
            "https://" + "\U0001f600" * 1017, "https://x.example/\ud800")},
        "iss missing": _edit(lambda shc: shc[0].pop("iss")),
        **{f"keys {v!r}": _entry(keys=v) for v in (None, {}, [], "x", 7)},
        "keys missing": _edit(lambda shc: shc[0].pop("keys")),
        "100 keys": _entry(keys=[base_key] * 100), "101 keys": _entry(keys=[base_key] * 101),
        "a key twice, two crlVersion": _entry(keys=[base_key, {**base_key, "crlVersion": 2}]),
        "a key twice, crlVersion dropped": _entry(keys=[base_key, {
            k: v for k, v in base_key.items() if k != "crlVersion"}]),
        **{f"key {v!r}": _entry(keys=[v]) for v in (None, [], "x", 1, {}, True)},
        **{f"drop {name}": _drop_key(name) for name in ("x", "y", "kid", "crlVersion")},
        **{f"x {v!r}": _key(x=v) for v in (
            None, 7, [], "", "A", "x=", b64u(x.to_bytes(32, "big")) + "=",
            b64u(x.to_bytes(32, "big"))[:-1], b64u(x.to_bytes(33, "big")),
            b64u(x.to_bytes(32, "big")).replace("-", "+").replace("_", "/"),
            b64u(x.to_bytes(32, "big"))[:-1] + chr(ord(b64u(x.to_bytes(32, "big"))[-1]) ^ 1))},
        **{f"y {v!r}": _key(y=v) for v in (None, b64u((y ^ 1).to_bytes(32, "big")),
                                            b64u(y.to_bytes(32, "big")[:31]))},
        "point (0, 0)": _entry(keys=[_point(0, 0)]), "point x = p": _entry(keys=[_point(P, y)]),
        "negated point, its kid": _entry(keys=[_point(x, P - y)]),
        "negated point, the key's kid": _key(y=b64u((P - y).to_bytes(32, "big"))),
        **{f"kid {v!r}": _key(kid=v) for v in (
            None, 7, "", other_kid, h.KID[:-1], h.KID + "A", h.KID.lower(), [h.KID])},
        **{f"crlVersion {v!r}": _key(crlVersion=v) for v in (
            None, 0, -1, 1, 2, 1.5, True, False, "1", [1], 2**53 - 1)},
        "other key fields": _key(kty="RSA", crv="P-384", alg="RS256", use="enc", d="AAAA"),
        **{f"crls {v!r}": _entry(crls=v) for v in (None, {}, "x", 7, [])},
        "crls missing": _edit(lambda shc: shc[0].pop("crls")),
        "101 crls": _entry(crls=[{"kid": h.KID, "ctr": 1, "rids": {}}] * 101),
        "two crls for a key": _edit(lambda shc: shc[0]["crls"].append(shc[0]["crls"][0])),
        **{f"crl {v!r}": _entry(crls=[v]) for v in (None, [], "x", 1, {})},
        **{f"crl kid {v!r}": _crl(kid=v) for v in (
            None, 7, "", other_kid, h.KID[:-1], [h.KID], {"a": 1})},
        "crl of the other issuer's key": _edit(lambda shc: shc[1].update(
            crls=[{"kid": other_kid, "ctr": 5, "rids": {"a": None}}])),
        "crl kid missing": _edit(lambda shc: shc[0]["crls"][0].pop("kid")),
        **{f"ctr {v!r}": _crl(ctr=v) for v in (None, 0, -1, 2, 1.5, True, "1", [1])},
        "ctr missing": _edit(lambda shc: shc[0]["crls"][0].pop("ctr")),
        **{f"rids {v!r}": _crl(rids=v) for v in (None, [], ["gone"], "gone", 7, {})},
        "rids missing": _edit(lambda shc: shc[0]["crls"][0].pop("rids")),
        **{f"rid {rid!r}: {at!r}": _crl(rids={rid: at}) for rid, at in (
            ("a", None), ("a", 0), ("a", 10**12 - 1), ("a", 10**12), ("a", -1), ("a", 1.5),
            ("a", True), ("a", "5"), ("a", [5]), ("a" * 24, None), ("a" * 25, None), ("", None),
            ("a.1", None), ("a=", None), ("a b", None), ("\u00e9", None), ("A-_z9", 1))},
    }
    return found
