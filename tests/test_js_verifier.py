"""Differential test: the JavaScript verifier (verifier/static/verifier/, served at
/shared/verifier/) gives the verdicts of the Python verifier on the same inputs, in a real
headless Chromium: every known-answer vector, thousands of seeded mutations of codes (text,
bytes, re-signed claims, presentations, times, keys), trust lists and revocation lists valid
and mutated, and the checkpoint rule. Same `valid`, same `reason`, same claims, every time."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jsmutations import (
    HOUR,
    NOW,
    base_claims,
    bstr,
    byte_mutation,
    cmap,
    cnf_variant,
    cose,
    encode,
    f64,
    int_forms,
    mutate_claims,
    protected_variant,
    random_item,
    tag,
    text,
    text_mutation,
    uint,
    weird,
)
from jsverifier import (
    PAGE,
    new_key,
    open_page,
    pin_of,
    py_list_summary,
    py_trust_summary,
    py_unverified,
    py_verify,
    serve,
    signed,
    trust_payload,
)
from vectorlib import load

from issuer.keys.signing import sign_cose, sign_raw
from verifier.claims import Credential
from verifier.cose import sig_structure
from verifier.errors import HealthCodeError
from verifier.formats import ForeignCode, Holder
from verifier.keys import b64url, b64url_decode, jwk_to_key, key_to_jwk
from verifier.kiosk.rules import FOREIGN_KINDS, Rule, RuleError
from verifier.kiosk.verdicts import KIND_WORDS
from verifier.labels import Colour
from verifier.presentation import cnf_for, presentation_protected
from verifier.revocation import RevocationList, encode_payload, entry_hash
from verifier.revocation import check_successor as revocation_successor
from verifier.trust import TrustList, load_anchor
from verifier.trust import check_successor as trust_successor

webcam = pytest.importorskip("webcam")
ANCHOR = new_key()
VECTOR_FILES = ("valid.json", "invalid.json", "presentations.json")


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    yield from serve()


@pytest.fixture(scope="module")
def page(origin, playwright, tmp_path_factory):
    with open_page(playwright, origin + PAGE, tmp_path_factory.mktemp("verifier")) as page:
        yield page


class Both:
    """The same trust lists, revocation lists and codes, in Python and in the page."""

    def __init__(self, page) -> None:
        self.page = page
        self.trusts: dict[str, TrustList | None] = {}
        self.lists: dict[str, RevocationList | None] = {}
        self.cases = 0

    def trust(self, cases: list[tuple[str, str, str, int]]) -> list[tuple]:
        """Load trust lists (id, jws, pin, now) both sides; return mismatches."""
        js = self.page.evaluate("(c) => hv.loadTrusts(c)", cases)
        bad = []
        for (tid, jws, pin, now), got in zip(cases, js, strict=True):
            try:
                t = TrustList.from_jws(jws, b64url_decode(pin), 0 if now is None else now)
                want = {"valid": True, "reason": None, "value": py_trust_summary(t)}
            except HealthCodeError as exc:
                t, want = None, {"valid": False, "reason": exc.reason.value, "value": None}
            self.trusts[tid] = t
            self.cases += 1
            if got != want:
                bad.append((tid, want, got))
        return bad

    def successors(self, cases: list[tuple[str, str, str]]) -> list[tuple]:
        """check_successor (kind "trust" or "revocations", current id, candidate id)."""
        js = self.page.evaluate("(c) => hv.successorsAll(c)", cases)
        bad = []
        for (kind, a, b), got in zip(cases, js, strict=True):
            try:
                if kind == "trust":
                    trust_successor(self.trusts.get(a), self.trusts[b])
                else:
                    revocation_successor(self.lists.get(a), self.lists[b])
                want = {"valid": True, "reason": None}
            except HealthCodeError as exc:
                want = {"valid": False, "reason": exc.reason.value}
            self.cases += 1
            if got != want:
                bad.append((kind, a, b, want, got))
        return bad

    def revocations(self, cases: list[tuple[str, bytes, str]]) -> list[tuple]:
        js = self.page.evaluate("(c) => hv.loadLists(c)", [(i, b.hex(), t) for i, b, t in cases])
        bad = []
        for (lid, data, tid), got in zip(cases, js, strict=True):
            try:
                rl = RevocationList.from_cose(data, self.trusts[tid])
                want = {"valid": True, "reason": None, "value": py_list_summary(rl)}
            except HealthCodeError as exc:
                rl, want = None, {"valid": False, "reason": exc.reason.value, "value": None}
            self.lists[lid] = rl
            self.cases += 1
            if got != want:
                bad.append((lid, data.hex(), want, got))
        return bad

    def verify(self, cases: list[tuple[str, str, int, list[str], int]]) -> list[tuple]:
        """Verify (text, trust id, now, list ids, window) both sides; return mismatches."""
        bad = []
        for start in range(0, len(cases), 500):
            batch = cases[start:start + 500]
            js = self.page.evaluate("(c) => hv.verifyAll(c)", batch)
            for (code, tid, now, lids, window), got in zip(batch, js, strict=True):
                want = py_verify(code, self.trusts[tid], now, [self.lists[i] for i in lids],
                                 window)
                self.cases += 1
                if got != want:
                    bad.append((code, now, want, got))
        return bad


@pytest.fixture(scope="module")
def both(page) -> Both:
    return Both(page)


def vector_trust(both: Both, vector: dict) -> str:
    """The vector's trust entries as a list signed by the test anchor; returns its id."""
    tid = "vector:" + json.dumps(vector["trust"], sort_keys=True)
    if tid not in both.trusts:
        issuers: dict[str, list] = {}
        for entry in vector["trust"]:
            issuers.setdefault(entry["iss"], []).append(entry)
        doc = {"typ": "healthcode-trust-list", "ver": 1, "seq": 1, "iat": 0, "exp": 2**32,
               "issuers": [{"iss": iss, "keys": [{**e["jwk"], "nbf": e["nbf"], "exp": e["exp"]}
                                                 for e in entries]}
                           for iss, entries in issuers.items()]}
        for entry in vector["trust"]:
            jwk_to_key(entry["jwk"])
        jws = signed(json.dumps(doc).encode(), ANCHOR)
        assert both.trust([(tid, jws, pin_of(ANCHOR), 0)]) == []
    return tid


def test_every_vector_gets_the_same_verdict(both, page):
    cases = []
    for name in VECTOR_FILES:
        for vector in load(name):
            text = vector.get("text") or vector.get("stages", {}).get("text")
            if text is None:
                continue
            cases.append((text, vector_trust(both, vector), vector["now"], [], 60))
    started = time.monotonic()
    assert both.verify(cases) == []
    print(f"{len(cases)} vectors in {time.monotonic() - started:.2f} s")
    assert page.errors == []


# ---- mutated codes ----

DAY = 86_400
#: How many mutated codes, from which seed; a soak run sets more and other seeds.
MUTATIONS = int(os.environ.get("HEALTHCODE_JS_MUTATIONS", "10500"))
SEED = int(os.environ.get("HEALTHCODE_JS_SEED", "20261205"))


@pytest.fixture(scope="module")
def world(both):
    """Issuer keys (ES256 and EdDSA, in, before and after their windows), phones, a signed
    trust list holding them, and revocation lists; loaded on both sides."""
    keys = {"hz": new_key(), "sh": new_key("EdDSA"), "old": new_key(), "future": new_key()}
    windows = {"hz": (NOW - 30 * DAY, NOW + 30 * DAY), "sh": (NOW - 30 * DAY, NOW + 30 * DAY),
               "old": (NOW - 100 * DAY, NOW - 40 * DAY), "future": (NOW + DAY, NOW + 30 * DAY)}
    issuer = {"hz": "HZ", "sh": "SH", "old": "HZ", "future": "HZ"}
    entries: dict[str, list] = {}
    for name, key in keys.items():
        entries.setdefault(issuer[name], []).append((key, *windows[name]))
    jws = signed(trust_payload(list(entries.items()), seq=5, iat=NOW - DAY,
                               exp=NOW + 60 * DAY), ANCHOR)
    assert both.trust([("main", jws, pin_of(ANCHOR), NOW)]) == []
    rng = random.Random(1515)
    revoked = [rng.randbytes(12) for _ in range(40)]
    lists = []
    for lid, key, iss in (("hz", keys["hz"], "HZ"), ("sh", keys["sh"], "SH")):
        payload = encode_payload(iss=iss, seq=3, iat=NOW - HOUR, exp=NOW + DAY, ctis=revoked)
        lists.append((lid, sign_cose(key, payload), "main"))
    assert both.revocations(lists) == []
    phones = [new_key(), new_key()]
    return {"keys": keys, "issuer": issuer, "phones": phones, "revoked": revoked}


def _cnf(phone) -> tuple[bytes, bytes, bool]:
    numbers = phone.public_key().public_numbers()
    x = numbers.x.to_bytes(32, "big")
    return cbor2.dumps(cnf_for(phone.public_key())), x, bool(numbers.y & 1)


def _presentation(rng, world, credential: bytes, now: int) -> str:
    phone = rng.choice(world["phones"] + [world["phones"][0]] * 4)
    at = now + rng.choice([0, -5, -59, -60, -61, -90, 29, 30, 31, -3000, 5])
    roll = rng.random()
    if roll < 0.8:
        protected = presentation_protected(at)
    else:
        protected = rng.choice([
            cmap([(uint(1), uint(-7)), (uint(15), cmap([(uint(6), rng.choice(int_forms(at)))]))]),
            cmap([(uint(1), uint(-8)), (uint(15), cmap([(uint(6), uint(at))]))]),
            cmap([(uint(1), rng.choice(int_forms(-7) + [b"\xf9\xc7\x00"])),
                  (uint(15), cmap([(uint(6), uint(at))]))]),
            cmap([(uint(1), uint(-7)), (uint(15), cmap([(uint(6), f64(float(at)))]))]),
            cmap([(uint(1), uint(-7)), (uint(15), b"\xa0")]), cmap([(uint(1), uint(-7))]),
            cmap([(uint(1), uint(-7)), (uint(15), cmap([(uint(6), uint(2**32))]))]),
            cmap([(uint(1), uint(-7)), (uint(15), cmap([(uint(6), weird(rng))]))]),
        ])
    signature = sign_raw(phone, sig_structure(protected, credential))
    if rng.random() < 0.05:
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    data = cose(phone, credential, protected=protected, signature=signature,
                unprotected=rng.choice([b"\xa0"] * 6 + [weird(rng)]))
    if rng.random() < 0.05:
        data = byte_mutation(rng, data)
    return text(data, "HCP1:")


def _case(rng, world) -> tuple[str, int, int]:
    keys, phones = world["keys"], world["phones"]
    name = rng.choice(["hz"] * 5 + ["sh"] * 2 + ["old", "future"])
    key, iss = keys[name], world["issuer"][name]
    bound = rng.random() < 0.3
    cnf = None
    if bound:
        _, x, odd = _cnf(rng.choice(phones[:1] * 5 + phones[1:]))
        cnf = cnf_variant(rng, x, odd)
    claims = base_claims(rng, iss if rng.random() < 0.95 else "SH", cnf=cnf,
                         id_check=not bound and rng.random() < 0.3,
                         family=rng.random() < (0.3 if bound else 0.03))
    if rng.random() < 0.1:
        claims["cti"] = bstr(rng.choice(world["revoked"]))
    iat = cbor2.loads(claims["iat"])
    exp = cbor2.loads(claims["exp"])
    if name == "old":
        iat, exp = NOW - 50 * DAY, NOW - 50 * DAY + 86400
    elif name == "future" and rng.random() < 0.5:
        iat, exp = NOW + 2 * DAY, NOW + 3 * DAY
    claims["iat"], claims["exp"] = uint(iat), uint(exp)
    now = rng.choice([NOW] * 6 + [exp + 300, exp + 301, iat - 300, iat - 301, exp, iat])
    window = rng.choice([60] * 8 + [0, 30, 120])
    kind = rng.random()
    forms, indefinite, extra = {}, False, []
    if kind < 0.45:
        claims, forms, indefinite, extra = mutate_claims(rng, claims)
    payload = encode(claims, forms, indefinite, extra)
    protected = protected_variant(rng, key) if rng.random() < 0.1 else None
    data = cose(key, payload, protected=protected,
                unprotected=rng.choice([b"\xa0"] * 12 + [weird(rng), b"\xbf\xff",
                                                          cmap([(uint(4), bstr(b"AAAAAAAA"))])]),
                long_heads=rng.random() < 0.05, indefinite=rng.random() < 0.05,
                wrap=rng.choice([b"\xd2"] * 30 + [b"\xd8\x12", b"", tag(55799, b"\xd2"), b"\xd3"]))
    if rng.random() < 0.03:
        data = cose(key, payload, signature=sign_raw(rng.choice(list(keys.values())),
                                                     sig_structure(data[3:17], payload)))
    if bound and rng.random() < 0.85:
        return _presentation(rng, world, data, now), now, window
    if not bound and rng.random() < 0.05:
        return _presentation(rng, world, data, now), now, window  # a static code inside
    roll = rng.random()
    if roll < 0.12:
        data = byte_mutation(rng, data)
    code = text(data)
    if roll > 0.93:
        code = text_mutation(rng, code)
    return code, now, window


def test_mutated_codes_get_the_same_verdict(both, world, page):
    rng = random.Random(SEED)
    cases = []
    for _ in range(MUTATIONS):
        code, now, window = _case(rng, world)
        lids = rng.choice([["hz", "sh"]] * 3 + [[], ["hz"]])
        cases.append((code, "main", now, lids, window))
    cases.append((None, "main", NOW, [], 60))
    cases.append((12, "main", NOW, [], 60))
    started = time.monotonic()
    bad = both.verify(cases)
    elapsed = time.monotonic() - started
    results = [py_verify(c, both.trusts["main"], n, [both.lists[i] for i in lids], w)
               for c, _, n, lids, w in cases[:2000]]
    verdicts = Counter(r["reason"] or "valid" for r in results)
    verdicts["valid family codes"] = sum(bool(r["valid"] and r["claims"]["family"])
                                         for r in results)
    print(f"{len(cases)} mutated codes in {elapsed:.1f} s; mismatches {len(bad)}; "
          f"verdicts of the first 2000: {dict(verdicts)}")
    assert bad == []
    assert verdicts["valid family codes"] > 0  # the family mark was exercised, valid too
    assert page.errors == []
    # The same codes, read without checking (what a refusal for time shows) and told apart.
    texts = [c[0] for c in cases[:4000] if isinstance(c[0], str)]
    js = page.evaluate("(t) => hv.unverifiedAll(t)", texts)
    bad = [(t, py_unverified(t), got) for t, got in zip(texts, js, strict=True)
           if got != py_unverified(t)]
    print(f"{len(texts)} codes read unverified; mismatches {len(bad)}")
    assert bad == []


def test_an_expired_trust_list_refuses_every_code(both, world, make_code):
    keys = world["keys"]
    jws = signed(trust_payload([("HZ", [(keys["hz"], NOW - 30 * DAY, NOW + 30 * DAY)])],
                               exp=NOW - 1), ANCHOR)
    assert both.trust([("stale", jws, pin_of(ANCHOR), None)]) == []
    code = cose(keys["hz"], encode(base_claims(random.Random(3))))
    cases = [(text(code), "stale", now, [], 60) for now in (NOW - 2, NOW - 1, NOW, NOW + 1)]
    assert both.verify(cases) == []
    assert py_verify(cases[-1][0], both.trusts["stale"], NOW, [], 60)["reason"] == \
        "trust_list_expired"


def test_anchor_pins_are_read_alike(page, tmp_path):
    key, ed = new_key(), new_key("EdDSA")
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    ed_pem = ed.public_key().public_bytes(Encoding.PEM,
                                          PublicFormat.SubjectPublicKeyInfo).decode()
    jwk = json.dumps(key_to_jwk(key.public_key()))
    anchors = [pem, "\n" + pem + "\n", ed_pem, jwk, json.dumps(key_to_jwk(ed.public_key())),
               pin_of(key), "sha256:" + pin_of(key), " " + pin_of(ed) + "\n", pin_of(key)[:-2],
               "sha256:", "", "{", jwk.replace('"alg": "ES256"', '"alg": "EdDSA"'),
               pem.replace("A", "B", 3), "-----BEGIN PUBLIC KEY-----\nAAAA\n", "AAAA=",
               pin_of(key) + "AAAA"]
    js = page.evaluate("(a) => hv.pinsAll(a)", anchors)
    for i, (anchor, got) in enumerate(zip(anchors, js, strict=True)):
        path = tmp_path / f"anchor{i}"
        path.write_text(anchor)
        try:
            want = {"valid": True, "reason": None, "pin": b64url(load_anchor(path))}
        except HealthCodeError as exc:
            want = {"valid": False, "reason": exc.reason.value, "pin": None}
        assert got == want, anchor


def test_random_cbor_items_are_read_alike(both, world):
    """Random CBOR items where cbor2 decodes them before any signature (the unprotected
    header) and inside re-signed claims (an extra claim, a claim key): the same verdicts."""
    rng = random.Random(SEED + 1)
    key = world["keys"]["hz"]
    cases = []
    for _ in range(MUTATIONS // 4):
        item = random_item(rng)
        claims = base_claims(rng)
        placement = rng.randrange(4)
        if placement == 0:
            data = cose(key, encode(claims), unprotected=cmap([(uint(5), item)]))
        elif placement == 1:
            data = cose(key, encode(claims), unprotected=cmap([(item, uint(1))]))
        elif placement == 2:
            data = cose(key, encode(claims, extra=[(uint(99), item)]))
        else:
            data = cose(key, encode(claims, extra=[(item, uint(1))]))
        cases.append((text(data), "main", NOW, [], 60))
    bad = both.verify(cases)
    verdicts = Counter(py_verify(c, both.trusts["main"], NOW, [], 60)["reason"] or "valid"
                       for c, *_ in cases[:1000])
    print(f"{len(cases)} codes around random CBOR items; mismatches {len(bad)}; "
          f"verdicts of the first 1000: {dict(verdicts)}")
    assert bad == []
    assert verdicts["valid"] > 100 and verdicts["malformed"] > 100  # both sides of the language


# ---- trust lists and revocation lists ----

def _jwk_variants(rng, key, nbf, exp) -> dict:
    jwk = {**key_to_jwk(key.public_key()), "nbf": nbf, "exp": exp}
    roll = rng.random()
    if roll < 0.75:
        return jwk
    edits = [("kid", "AAAAAAAA"), ("alg", "EdDSA"), ("alg", "ES384"), ("d", "x"), ("nbf", 1.0),
             ("exp", -1), ("nbf", "1"), ("x", jwk["x"][:-2]), ("x", jwk["x"] + "=="),
             ("x", jwk["x"][:10] + "!" + jwk["x"][10:]), ("kty", "RSA"), ("crv", "P-384"),
             ("kid", 12345678), ("y", jwk.get("y", "AAAA")), ("exp", 2**70)]
    name, value = rng.choice(edits)
    return {**jwk, name: value}


def _trust_doc(rng, keys, anchor_name: str | None) -> str:
    issuers = [{"iss": "HZ", "name": "Hangzhou", "names": {"zh-CN": "杭州", "en": "Hangzhou"},
                "keys": [_jwk_variants(rng, keys[0], NOW - 30 * DAY, NOW + 30 * DAY)]},
               {"iss": "SH", "keys": [_jwk_variants(rng, keys[1], NOW - 30 * DAY, NOW + 30 * DAY)]}]
    doc = {"typ": "healthcode-trust-list", "ver": 1, "seq": rng.choice([1, 2, 3, 7]),
           "iat": NOW - DAY, "exp": rng.choice([NOW + DAY, NOW - 1, NOW, 2**40])
           , "issuers": issuers}
    if anchor_name is not None:
        doc["anchor"] = anchor_name
    roll = rng.random()
    edits = [("typ", "x"), ("ver", 1.0), ("ver", True), ("ver", "1"), ("ver", 2), ("seq", -1),
             ("seq", 1.5), ("seq", 2**80), ("iat", None), ("issuers", {}), ("issuers", ""),
             ("issuers", "ab"), ("issuers", [1]), ("issuers", [issuers[0], issuers[0]]),
             ("anchor", "AAAA"), ("anchor", 5), ("issuers", [{**issuers[1], "name": 5}]),
             ("issuers", [{**issuers[1], "name": None}]),
             ("issuers", [{**issuers[1], "names": []}]),
             ("issuers", [{**issuers[1], "names": {"en": ""}}]),
             ("issuers", [{"iss": "", "keys": []}]),
             ("issuers", [{"iss": "HZ"}]), ("issuers", [{**issuers[1], "keys": "ab"}]),
             ("issuers", [{**issuers[1], "keys": {}}])]
    if roll < 0.35:
        name, value = rng.choice(edits)
        doc[name] = value
    text = json.dumps(doc)
    if rng.random() < 0.1:
        text = rng.choice([text.replace('"ver": 1', '"ver": 1, "ver": 2'), text + " ",
                           text.replace("1,", "NaN,", 1), text[:-1], "[" + text + "]",
                           text.replace('"seq": ', '"seq": 1e0 + ', 1),
                           text.replace('"ver": 1', '"ver": 1, "x": ' + "9" * 4300),
                           text.replace('"ver": 1', '"ver": 1, "x": -' + "9" * 4301)])
    return text


def _jws_mutation(rng, jws: str) -> str:
    doc = json.loads(jws)
    roll = rng.random()
    if roll < 0.15:
        field = rng.choice(["payload", "protected", "signature"])
        if field in doc:
            value = doc[field]
            i = rng.randrange(len(value) + 1)
            doc[field] = value[:i] + rng.choice(["A", "=", "!", "!!!!", "+", "-", "_", "é", ""]) \
                + value[i + 1:]
    elif roll < 0.25:
        doc.pop(rng.choice(list(doc)))
    elif roll < 0.3 and "signatures" in doc:
        doc["signatures"] = doc["signatures"] * rng.choice([0, 3])
    elif roll < 0.35:
        return rng.choice([jws[:-3], jws + "x", "\ufeff" + jws, "", "null", "[]"])
    return json.dumps(doc)


def test_trust_lists_get_the_same_verdict(both, page):
    rng = random.Random(SEED + 77)
    old, new, other = ANCHOR, new_key(), new_key("EdDSA")
    keys = [new_key(), new_key("EdDSA")]
    cases = []
    for i in range(400):
        roll = rng.random()
        if roll < 0.5:
            signers, named = [old], rng.choice([None, None, pin_of(old)])
        elif roll < 0.7:
            signers, named = [old, new], pin_of(new)  # a roll-over to the new anchor
        elif roll < 0.8:
            signers, named = [old], pin_of(new)  # names a new anchor that did not sign
        elif roll < 0.9:
            signers, named = [new], None
        else:
            signers, named = rng.choice([[other], [old, other], [other, old]]), None
        payload = _trust_doc(rng, keys, named).encode()
        jws = signed(payload, *signers)
        if rng.random() < 0.3:
            jws = _jws_mutation(rng, jws)
        pin = rng.choice([pin_of(old)] * 8 + [pin_of(new), pin_of(other)])
        cases.append((f"t{i}", jws, pin, rng.choice([NOW, NOW, NOW + 2 * DAY, None])))
    base = json.loads(trust_payload([("HZ", [(keys[0], NOW - DAY, NOW + DAY)])], exp=NOW + DAY))
    for tweak in ('"x": ' + "9" * 4300, '"x": -' + "9" * 4301, '"x": 1.5e999', '"x": NaN',
                  '"ver": 1.0', '"ver": true', '"seq": 2, "seq": 3', '"x": "\\ud800"',
                  '"x": [' * 50 + "]" * 50, '"x": [' * 2000 + "]" * 2000, '"seq": 1E1',
                  *FOREIGN_TWEAKS):
        text_doc = json.dumps(base)[:-1] + ", " + tweak + "}"
        for payload in (text_doc.encode(), b"\xef\xbb\xbf" + text_doc.encode(),
                        text_doc.encode("utf-16-le")):
            cases.append((f"x{len(cases)}", signed(payload, old), pin_of(old), NOW))
    bad = both.trust(cases)
    accepted = sum(both.trusts[case[0]] is not None for case in cases)
    pairs = [("trust", rng.choice([f"t{i}" for i in range(400)] + ["none"]), f"t{j}")
             for j in range(400) for _ in range(2) if both.trusts[f"t{j}"] is not None]
    pairs += [("trust", f"t{j}", f"t{j}") for j in range(400) if both.trusts[f"t{j}"] is not None]
    bad += both.successors([p for p in pairs if p[1] == "none" or both.trusts[p[1]] is not None])
    print(f"{len(cases)} trust lists ({accepted} accepted), {len(pairs)} successor pairs; "
          f"mismatches {len(bad)}")
    assert bad == []


def test_revocation_lists_get_the_same_verdict(both, world, page):
    rng = random.Random(SEED + 78)
    keys = world["keys"]
    cases = []
    for i in range(400):
        name = rng.choice(["hz"] * 5 + ["sh", "old", "future"])
        key = keys[name]
        iss = rng.choice([world["issuer"][name]] * 9 + ["SH"])
        iat = rng.choice([NOW - HOUR, NOW - 2 * HOUR, NOW - HOUR + 1, NOW - 31 * DAY,
                          NOW + 31 * DAY, NOW - 50 * DAY])
        ctis = [rng.randbytes(12) for _ in range(rng.choice([0, 1, 3, 50]))]
        doc = {"typ": "healthcode-revocations", "ver": 1, "iss": iss,
               "seq": rng.choice([1, 3, 5]), "iat": iat, "exp": iat + DAY, "width": 7,
               "hashes": b"".join(sorted({entry_hash(c) for c in ctis}))}
        if rng.random() < 0.35:
            field, value = rng.choice([
                ("typ", "x"), ("ver", 1.0), ("ver", True), ("width", 8), ("width", 7.0),
                ("hashes", doc["hashes"][::-1]), ("hashes", doc["hashes"] + b"\x00"),
                ("hashes", doc["hashes"] * 2), ("iat", -1), ("exp", iat - 1), ("seq", 1.5),
                ("seq", 2**70), ("iss", ""), ("iss", 5), ("extra", 1), ("hashes", "x")])
            doc[field] = value
        if rng.random() < 0.05:
            doc.pop(rng.choice(list(doc)))
        payload = cbor2.dumps(doc)
        data = sign_cose(key, payload)
        if rng.random() < 0.1:
            data = byte_mutation(rng, data)
        cases.append((f"r{i}", data, "main"))
    bad = both.revocations(cases)
    ids = [f"r{i}" for i in range(400) if both.lists[f"r{i}"] is not None]
    pairs = [("revocations", rng.choice(ids + ["none"]), b) for b in ids for _ in range(3)]
    pairs += [("revocations", b, b) for b in ids]
    bad += both.successors(pairs)
    print(f"{len(cases)} revocation lists ({len(ids)} accepted), {len(pairs)} successor pairs; "
          f"mismatches {len(bad)}")
    assert bad == []


#: Trust lists carrying keys of foreign formats (verifier/formats/published.py), well formed
#: and not (each format's own loader is compared case by case in tests/test_formats_js_*.py).
_DID = json.loads((Path(__file__).parent / "interop" / "nzcp" / "examples" / "valid"
                   / "did.json").read_text())
FOREIGN_TWEAKS = [f'"foreign": {json.dumps(member)}' for member in (
    None, {}, [], {"xyz": []}, {"nzcp": []}, {"nzcp": [_DID]}, {"nzcp": {}},
    {"nzcp": [{**_DID, "id": "did:key:x"}]}, {"nzcp": [_DID, _DID]}, {"dcc": []}, {"shc": []},
    {"dcc": [{}]}, {"shc": [{}]}, {"nzcp": [_DID], "dcc": "x"})]


# ---- the rule ----

RULE_TEXTS = [
    "green", "green,yellow", "GREEN, Yellow ", "red", "score>=60", "score >= 60", "green,score>=80",
    "score>100", "score>=101", "score=50", "score==50", "score<=0", "score<1", "score>=060",
    "score>=٦٠", "score>=６０", "score\u3000>=\u300060", "score\x1f>=1", "", " , ", ",green",
    "blue", "score", "score>=", "score=>60", "score>=1000", "green,green", "score>=-1",
    "\u00a0green\u2028", "\ufeffgreen", "green" * 41, "g" * 200 + ",red", "score≥60", "İ",
    "score>=50,score<=70,yellow,red", "SCORE<50", "score > 5 0", "score>=\U0001d7ce",
    # Foreign formats and their kinds (a rule of them alone keeps green for ours).
    "dcc:any", "dcc:vaccination,recovery", "green,dcc:test", "DCC : Vaccination , Test",
    "shc:any,nzcp:pass", "nzcp:pass,red", "dcc:vaccination,score>=50", "dcc:", "dcc:any,test",
    "dcc:passport", "xyz:any", "dcc:vaccination,shc:laboratory,immunization,green",
    "dcc:vaccination,,test", "dcc:vaccination,blue", "nzcp\u3000:\u3000pass", "dcc:any,any",
    "shc:any,dcc:any,nzcp:any", "dcc:test,dcc:recovery", "dcc:vaccination,score", "1:any",
]


def test_the_rule_decides_as_python(page):
    creds = [(colour, score) for colour in ("green", "yellow", "red")
             for score in (0, 1, 49, 50, 51, 59, 60, 61, 79, 80, 100)]
    foreign = [{"format": name, "kind": kind} for name, kinds in FOREIGN_KINDS.items()
               for kind in (*kinds, "other")]
    got = page.evaluate("(a) => hv.rules(a)", [RULE_TEXTS, creds + foreign])
    words = {"colour": "{colour} is not admitted here", ">=": "score {score} is not at least "
             "{value}", "<=": "score {score} is not at most {value}", ">": "score {score} is not "
             "above {value}", "<": "score {score} is not below {value}",
             "=": "score {score} is not exactly {value}",
             "format": "this checkpoint does not accept {plural}",
             "foreign_kind": "{plural} of this kind ({kind}) are not accepted here"}
    decisions = 0
    for rule_text, js in zip(RULE_TEXTS, got, strict=True):
        try:
            rule = Rule.parse(rule_text)
        except RuleError:
            assert js == {"ok": False, "error": "RuleError"}, rule_text
            continue
        assert js["ok"] and js["text"] == rule.text, rule_text
        for code, decision in zip(creds + foreign, js["decisions"], strict=True):
            if isinstance(code, dict):
                want = rule.decide(_foreign(code["format"], code["kind"]))
                values = {**(decision or {}).get("values", {})}
                values["plural"] = PLURAL.get(values.get("format"))
                values["kind"] = KIND_WORDS.get(values.get("kind"), values.get("kind"))
            else:
                want = rule.decide(Credential("HZ", 0, 1, b"", Colour(code[0]), code[1]))
                values = (decision or {}).get("values", {})
            said = None if decision is None else words[decision["code"]].format(**values)
            assert said == want, (rule_text, code)
            decisions += 1
    print(f"{len(RULE_TEXTS)} rules, {decisions} decisions")
    assert decisions > 800


PLURAL = {"dcc": "EU certificates", "shc": "SMART Health Cards", "nzcp": "NZ COVID Passes"}


def _foreign(format_: str, kind: str) -> ForeignCode:
    return ForeignCode(format_, "issuer", None, kind, Holder("", ""), None, None, None, "", "")
