"""Hostile and edge inputs for the NZ COVID Pass verifiers, Python's (verifier/formats/nzcp.py)
and the browser's (verifier/static/verifier/formats/nzcp.js), compared by
tests/test_formats_js_nzcp.py: passes the test issuer signs with every claim, header and
envelope part changed (tests/nzcppasses.py), the NZ tests' own hostile inputs, seeded
mutations of texts and bytes, and the published DID documents mutated. Each pass is a
:class:`~foreigncases.Case` (keys in the trust list's published form)."""

from __future__ import annotations

import base64
import json
import random

import cbor2
import test_interop_nzcp as nz
from foreigncases import Case
from jsmutations import WEIRD, byte_mutation, carray, int_forms, random_item, tstr, uint
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
    sign,
    text,
)

from verifier.cose import sig_structure
from verifier.keys import b64url

TEST_KEYS = {"nzcp": [did_document()]}
EXAMPLE_DOC = json.loads(nz.read("valid/did", ".json"))
EXAMPLE_KEYS = {"nzcp": [EXAMPLE_DOC]}
EXAMPLE = nz.read("valid/nzcp", ".txt")
SUBJECT = ("vc", "credentialSubject")
#: The claims whose value :func:`raw_claim` replaces with any CBOR item.
CLAIM_PATHS = [(1,), (5,), (4,), (7,), ("vc",), ("vc", "@context"), ("vc", "version"),
               ("vc", "type"), SUBJECT, (*SUBJECT, "givenName"), (*SUBJECT, "familyName"),
               (*SUBJECT, "dob")]
BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SENTINEL = "\x00nzcp-sentinel\x00"
# The order of P-256's group: s and n - s are both valid ECDSA signatures.
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def case(id_: str, code: str, keys: dict | None = None, now: int = NBF) -> Case:
    return Case(id_, "nzcp", (code,), TEST_KEYS if keys is None else keys, now)


def raw_claim(path: tuple, raw: bytes, **kwargs: object) -> str:
    """The test pass with the claim at ``path`` the CBOR bytes ``raw`` (any), re-signed."""
    payload = cbor2.dumps(claims_with((path, _SENTINEL)))
    marker = cbor2.dumps(_SENTINEL)
    assert payload.count(marker) == 1
    return make_pass(payload=payload.replace(marker, raw), **kwargs)


def raw_header(raw: bytes, **kwargs: object) -> str:
    """The test pass under the protected header ``raw`` (any bytes), signed over it."""
    payload = cbor2.dumps(CLAIMS)
    signature = sign(KEY, sig_structure(raw, payload))
    return text(cbor2.dumps(cbor2.CBORTag(18, [raw, {}, payload, signature])), **kwargs)


def with_signature(signature: bytes) -> str:
    protected, unprotected, payload, _ = cbor2.loads(cose()).value
    return text(cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature])))


def from_the_nz_tests() -> list[Case]:
    """Every hostile input of tests/test_interop_nzcp.py, as a case."""
    out = [case(f"envelope {name}", code) for name, (code, _, _) in nz.envelope_cases().items()
           if isinstance(code, str)]
    out += [case(f"cose {name}", text(data)) for name, data in nz.COSE_CASES.items()]
    out += [case(f"header {name}", make_pass(header=header))
            for name, (header, _) in nz.HEADER_CASES.items()]
    out += [case(f"payload {name}", make_pass(payload=data))
            for name, data in nz.PAYLOAD_CASES.items()]
    out += [case(f"claims {name}", make_pass(claims_with(change)))
            for name, change in nz.BAD_CLAIMS.items()]
    doc = EXAMPLE_DOC
    production = json.loads(json.dumps(doc).replace(nz.EXAMPLE_ISSUER, nz.PRODUCTION_ISSUER))
    withdrawn, removed = {**doc, "assertionMethod": []}, {**doc, "verificationMethod": []}
    for name, keys in (("production issuer only", [production]), ("no documents", []),
                       ("both issuers", [production, doc]), ("key withdrawn", [withdrawn]),
                       ("key removed", [{**removed, "assertionMethod": []}])):
        out.append(case(f"example pass, {name}", EXAMPLE, {"nzcp": keys}, nz.PINNED))
    out.append(case("example pass, no nzcp member", EXAMPLE, {}, nz.PINNED))
    out += [case(f"example pass truncated to {end}", EXAMPLE[:end], EXAMPLE_KEYS, nz.PINNED)
            for end in range(len(EXAMPLE))]
    out += [case(f"issuer or key {i}", make_pass(claims, header=header)) for i, (claims, header)
            in enumerate([(claims_with(((1,), DROP)), None),
                          (claims_with(((1,), TEST_DID.encode())), None),
                          (claims_with(((1,), "did:web:other.example")), None),
                          (claims_with(((1,), TEST_DID + "#key-1")), None),
                          (None, {4: b"key-2", 1: -7}), (None, {4: b"key-1#", 1: -7}),
                          (None, {4: b"#key-1", 1: -7})])]
    good = cbor2.loads(cose()).value
    out += [case(f"signature {i}", with_signature(sig)) for i, sig in enumerate(
        (good[3][:-1], b"", bytes(64), good[3] + b"\x00", b"\xff" * 64))]
    out += [case("another key signed it", make_pass(key=OTHER_KEY)),
            case("bad signature over bad claims", make_pass(claims_with((("vc",), DROP)),
                                                            key=OTHER_KEY)),
            case("kid only unprotected", make_pass(header={1: -7}, unprotected={4: b"key-1"})),
            case("text kid", make_pass(header={4: "key-1", 1: -7})),
            case("no family name", make_pass(claims_with(((*SUBJECT, "familyName"), DROP)))),
            case("version 01", text(cose(), version="01")),
            case("padding dropped", nz.PADDED.rstrip("=")),
            case("longest text", "NZCP:/1/" + "A" * 4288),
            case("one past the longest", "NZCP:/1/" + "A" * 4289),
            case("kid of 256", make_pass(header={4: "k" * 256, 1: -7})),
            case("kid of one", make_pass(header={4: b"k", 1: -7}),
                 {"nzcp": [did_document(keys={"k": KEY})]}),
            case("given name of one", make_pass(claims_with(((*SUBJECT, "givenName"), "K")))),
            case("names of 100", make_pass(claims_with(((*SUBJECT, "givenName"), "K" * 100),
                                                       ((*SUBJECT, "familyName"), "N" * 100))))]
    code = make_pass()
    out += [case(f"now {now}", code, now=now) for now in (NBF - 1, NBF, EXP - 1, EXP)]
    return out


def edges() -> list[Case]:
    """Lengths in code points, whitespace, versions, base32 tails, kids, algs, names, dates,
    depth, integers of every width, signatures, keys held."""
    code, body = make_pass(), make_pass()[8:]
    astral = "\U0001f600"
    out = [case("astral longest", "NZCP:/1/" + astral * 4288),
           case("astral one past", "NZCP:/1/" + astral * 4289),
           case("a megabyte", "NZCP:/1/" + "A" * 1_000_000),
           case("python whitespace around", " \u3000\u2028" + code + "\n\x1c\x85"),
           case("zero-width space before", "\u200b" + code),
           case("longest with space around", " " * 50 + "NZCP:/1/" + "A" * 4288 + " " * 50),
           case("nul inside", code[:20] + "\x00" + code[20:])]
    out += [case(f"version {v!r}", text(cose(), version=v))
            for v in ("0001", "00", "+1", " 1", "1 ", "\uff11", "1\n", "", "10", "001")]
    out += [case(f"last letter {c}", "NZCP:/1/" + body[:-1] + c) for c in BASE32_ALPHABET]
    out += [case(f"body plus {n}", code + "A" * n) for n in range(1, 9)]
    out += [case(f"body cut by {n}", code[:-n]) for n in range(1, 9)]
    bom = {"nzcp": [did_document(keys={"\ufeffkey-1": KEY})]}
    out += [case("kid with a BOM, held", make_pass(header={4: b"\xef\xbb\xbfkey-1", 1: -7}), bom),
            case("kid with a BOM", make_pass(header={4: b"\xef\xbb\xbfkey-1", 1: -7})),
            case("text kid with a BOM", make_pass(header={4: "\ufeffkey-1", 1: -7}), bom),
            case("astral kid of 256", make_pass(header={4: astral * 256, 1: -7})),
            case("astral kid of 257", make_pass(header={4: astral * 257, 1: -7})),
            case("astral kid held", make_pass(header={4: astral, 1: -7}),
                 {"nzcp": [did_document(keys={astral: KEY})]}),
            case("kid overlong UTF-8", make_pass(header={4: b"\xc0\x80", 1: -7})),
            case("kid a surrogate", make_pass(header={4: b"\xed\xa0\x80", 1: -7})),
            case("kid in chunks", raw_header(b"\xa2\x04\x5f\x42ke\x43y-1\xff\x01\x26")),
            case("text kid in chunks", raw_header(b"\xa2\x04\x7f\x62ke\x63y-1\xff\x01\x26")),
            case("header indefinite", raw_header(b"\xbf\x04\x45key-1\x01\x26\xff")),
            case("header with a text label", make_pass(header={4: b"key-1", 1: -7, "x": 1})),
            case("header empty map", make_pass(header={})),
            case("header empty bytes", raw_header(b"")),
            case("header trailing byte", raw_header(cbor2.dumps({4: b"key-1", 1: -7}) + b"\x00")),
            case("unprotected kid too", make_pass(unprotected={4: b"key-2"}))]
    out += [case(f"alg form {i}", raw_header(b"\xa2\x04\x45key-1\x01" + form))
            for i, form in enumerate([*int_forms(-7), b"\xf9\xc7\x00", b"\x3b" + b"\xff" * 8,
                                      uint(7), tstr("-7"), b"\xf6", b"\xf7"])]
    out += [case(f"nbf form {i}", raw_claim((5,), form)) for i, form in enumerate(int_forms(NBF))]
    out += [case(f"exp form {i}", raw_claim((4,), form)) for i, form in enumerate(int_forms(EXP))]
    out += [case(f"nbf {n}", make_pass(claims_with(((5,), n))), now=now)
            for n, now in ((2**64 - 1, NBF), (2**53, 2**53), (2**53 + 1, 2**53), (-1, NBF))]
    out += [case(f"exp {n}", make_pass(claims_with(((4,), n)))) for n in (-(2**64), NBF, 0)]
    out += [case(f"at {now}", make_pass(), now=now) for now in (0, -1, 2**53, NBF + 0.5, EXP - 0.5)]
    head, tail = CLAIMS[7][:8], CLAIMS[7][8:]
    out += [case("cti in chunks", raw_claim((7,), b"\x5f\x48" + head + b"\x48" + tail + b"\xff")),
            case("cti mixed", raw_claim((7,), b"\x5f\x48" + head + b"\x68" + tail + b"\xff")),
            case("cti of 17", make_pass(claims_with(((7,), bytes(17))))),
            case("cti all ff", make_pass(claims_with(((7,), b"\xff" * 16))))]
    names = {"given 100 astral": astral * 100, "given 101 astral": astral * 101,
             "given nul": "\x00", "given space": " ", "given BOM": "\ufeff"}
    out += [case(name, make_pass(claims_with(((*SUBJECT, "givenName"), value))))
            for name, value in names.items()]
    out += [case(f"family {name}", raw_claim((*SUBJECT, "familyName"), raw)) for name, raw in (
        ("empty", tstr("")), ("null", b"\xf6"), ("undefined", b"\xf7"), ("false", b"\xf4"),
        ("100 astral", tstr(astral * 100)), ("101 astral", tstr(astral * 101)),
        ("split UTF-8", b"\x7f\x61\xc3\x61\xa9\xff"), ("chunks", b"\x7f\x62Ng\x63ata\xff"))]
    out += [case(f"dob {dob!r}", make_pass(claims_with(((*SUBJECT, "dob"), dob)))) for dob in (
        "0000-01-01", "0001-01-01", "9999-12-31", "2000-02-29", "1900-02-29", "2100-02-29",
        "2400-02-29", "1984-13-01", "1984-00-10", "1984-01-00", "1984-04-31", "1984-12-31",
        "1984-02-29\n", "1984-02-29 ", "\u0661\u0669\u0668\u0664-02-29", "+984-02-29",
        "1984-02-2", "1984/02/29", "19840229", "1984-W01-1", "1984-02-29T00:00")]
    out += [case(f"vc {name}", make_pass(claims_with((("vc", *path), value))))
            for name, (path, value) in {
                "one context": (("@context",), ["https://www.w3.org/2018/credentials/v1"]),
                "empty context": (("@context",), []),
                "type one": (("type",), ["VerifiableCredential"]),
                "type texts only": (("type",), ["VerifiableCredential", 1]),
                "version 1.0.0 bytes": (("version",), b"1.0.0"),
                "extra members": (("extra",), {"a": [1, 2.5, None]})}.items()]
    deep = {k: raw_claim((*SUBJECT, "deep"), b"\x81" * k + b"\x00") for k in (12, 13, 14)}
    out += [case(f"nested {k} under the subject", v) for k, v in deep.items()]
    signature = cbor2.loads(cose()).value[3]
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    for name, (rr, ss) in {"high s": (r, _N - s), "r zero": (0, s), "s zero": (r, 0),
                           "r is n": (_N, s), "s plus n": (r, s + _N)}.items():
        if ss < 2**256:
            out.append(case(f"signature {name}", with_signature(
                rr.to_bytes(32, "big") + ss.to_bytes(32, "big"))))
    two = {"nzcp": [did_document(), did_document("did:web:other.example", {"key-2": OTHER_KEY})]}
    out += [case("two issuers", code, two),
            case("kid of the other issuer", make_pass(header={4: b"key-2", 1: -7}, key=OTHER_KEY),
                 two),
            case("the other issuer", make_pass(claims_with(((1,), "did:web:other.example")),
                                               header={4: b"key-2", 1: -7}, key=OTHER_KEY), two),
            case("nzcp member empty", code, {"nzcp": []}),
            case("no foreign keys", code, {})]
    return out


def weird_claims() -> list[Case]:
    """Every claim the verifier reads, replaced by each odd CBOR item (jsmutations.WEIRD)."""
    return [case(f"claim {'/'.join(map(str, path))} weird {i}", raw_claim(path, raw))
            for path in CLAIM_PATHS for i, raw in enumerate(WEIRD)]


def seeded(count: int = 800) -> list[Case]:
    """Seeded mutations: text edits as the NZ test's, COSE byte mutations, random CBOR as the
    payload and as claims, then every bit of the test pass's COSE flipped."""
    rng = random.Random(1919)
    alphabet = BASE32_ALPHABET
    out = []
    for i in range(count):
        body = list(nz.BODY)
        at = rng.randrange(len(body))
        roll = rng.randrange(4)
        if roll == 0:
            body[at] = rng.choice(alphabet)
        elif roll == 1:
            del body[at]
        elif roll == 2:
            body.insert(at, rng.choice(alphabet + "=/1 "))
        else:
            body = [rng.choice(alphabet) for _ in range(rng.randrange(0, 700))]
        out.append(case(f"text mutation {i}", "NZCP:/1/" + "".join(body), EXAMPLE_KEYS, nz.PINNED))
    good = cose()
    out += [case(f"byte mutation {i}", text(byte_mutation(rng, good))) for i in range(count)]
    out += [case(f"random payload {i}", make_pass(payload=random_item(rng))) for i in range(200)]
    out += [case(f"random claim {i}", raw_claim(rng.choice(CLAIM_PATHS), random_item(rng)))
            for i in range(count)]
    for i in range(len(good) * 8):
        flipped = bytearray(good)
        flipped[i // 8] ^= 1 << (i % 8)
        out.append(case(f"bit {i} flipped", text(bytes(flipped))))
    return out


# -- the published DID documents, mutated ------------------------------------------------------

def _doc(did: str = TEST_DID, **changes: object) -> dict:
    doc = did_document(did)
    for name, value in changes.items():
        if value is DROP:
            doc.pop(name)
        else:
            doc[name] = value
    return doc


def _method(**changes: object) -> dict:
    doc = did_document()
    for name, value in changes.items():
        if value is DROP:
            doc["verificationMethod"][0].pop(name)
        else:
            doc["verificationMethod"][0][name] = value
    return doc


def _jwk(**changes: object) -> dict:
    jwk = {**public_jwk(KEY), **changes}
    return _method(publicKeyJwk={k: v for k, v in jwk.items() if v is not DROP})


def documents() -> dict[str, object]:
    """``foreign`` members, each the test issuer's made good or bad in one way."""
    x, y = (base64.urlsafe_b64decode(public_jwk(KEY)[c] + "=") for c in "xy")
    unlisted = did_document(keys={"key-1": KEY, "key-2": OTHER_KEY}, assertion=["key-1"])
    unlisted["verificationMethod"][1]["publicKeyJwk"] = {"kty": "RSA"}
    relative = did_document()
    relative["verificationMethod"][0]["id"] = "#key-1"
    nzcp = {f"BAD {name}": (value if isinstance(value, list) else [value])
            for name, value in nz.BAD_DOCUMENTS.items()}
    nzcp.update({
        "good": [did_document()], "good two": [did_document(), EXAMPLE_DOC], "empty": [],
        "a dict": did_document(), "a text": TEST_DID, "null": None, "a number": 1,
        "a list in a list": [[did_document()]],
        "1000 documents": [_doc(f"did:web:i{i}.example") for i in range(1000)],
        "1001 documents": [_doc(f"did:web:i{i}.example") for i in range(1001)],
        "1000 with keys": [did_document(f"did:web:k{i}.example") for i in range(1000)],
        "no methods at all": [_doc(verificationMethod=DROP, assertionMethod=DROP)],
        "methods null": [_doc(verificationMethod=None)],
        "assertions null": [_doc(assertionMethod=None)],
        "64 methods": [did_document(keys={f"k{i}": KEY for i in range(64)})],
        "64 assertions, one key": [_doc(assertionMethod=[TEST_DID + "#key-1"] * 64)],
        "relative ids": [relative], "relative assertion": [_doc(assertionMethod=["#key-1"])],
        "assertion #": [_doc(assertionMethod=["#"])],
        "assertion a number": [_doc(assertionMethod=[1])],
        "assertion null": [_doc(assertionMethod=[None])],
        "method id relative and absolute": [_doc(verificationMethod=[
            {**did_document()["verificationMethod"][0], "id": "#key-1"},
            did_document()["verificationMethod"][0]])],
        "unlisted method not a key": [unlisted],
        "unlisted method not an object": [_doc(verificationMethod=[
            *did_document()["verificationMethod"], 7])],
        "unknown members": [_doc(service=[{"id": "#s"}], alsoKnownAs=["x"], **{"__proto__": {}})],
        "deep unknown member": [_doc(deep=json.loads("[" * 200 + "]" * 200))],
        "proto id only": [{"__proto__": {"id": TEST_DID}}],
        "id did:web:": [_doc("did:web:")], "id with a port": [_doc("did:web:a.example%3A8080")],
        "id with path": [_doc("did:web:a.example:user:alice")],
        "id upper case": [_doc("DID:web:a.example")], "id newline": [_doc(TEST_DID + "\n")],
        "id a number": [_doc(id=7)], "id null": [_doc(id=None)],
        "type missing": [_method(type=DROP)], "jwk null": [_method(publicKeyJwk=None)],
        "jwk a list": [_method(publicKeyJwk=[])], "jwk private d null": [_jwk(d=None)],
        "jwk oth": [_jwk(oth=[])], "jwk dp": [_jwk(dp="AA")],
        "kty missing": [_jwk(kty=DROP)], "crv missing": [_jwk(crv=DROP)],
        "alg ES256": [_jwk(alg="ES256")], "alg null": [_jwk(alg=None)],
        "use sig": [_jwk(use="sig")], "use null": [_jwk(use=None)],
        "x missing": [_jwk(x=DROP)], "y null": [_jwk(y=None)],
        "x standard base64": [_jwk(x=base64.b64encode(x).decode())],
        "x with a space": [_jwk(x=" " + b64url(x))], "x of 33": [_jwk(x=b64url(b"\x00" + x))],
        "x five chars too many": [_jwk(x=b64url(x) + "AAAAA")],
        "coordinates ff": [_jwk(x=b64url(b"\xff" * 32), y=b64url(b"\xff" * 32))],
        "zero point": [_jwk(x=b64url(bytes(32)), y=b64url(bytes(32)))],
        "x and y swapped": [_jwk(x=b64url(y), y=b64url(x))],
        "extra jwk members": [_jwk(kid="key-1", ext=True, key_ops=["verify"])],
        "two documents of one DID, one relative": [did_document(), relative],
    })
    members: dict[str, object] = {f"nzcp {name}": {"nzcp": value} for name, value in nzcp.items()}
    members.update({"no nzcp": {}, "a list member": [],
                    "an unknown format": {"nzcp": [], "xyz": []}})
    return members


__all__ = ["EXAMPLE_KEYS", "TEST_KEYS", "case", "carray", "documents", "edges",
           "from_the_nz_tests", "raw_claim", "seeded", "weird_claims"]
