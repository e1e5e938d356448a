"""The NZ COVID Pass in the browser (verifier/static/verifier/formats/nzcp.js, nzcpdid.js) in a
real headless Chromium, next to Python's verifier/formats/nzcp.py: the same verdict (reason and
step, or the same ForeignCode.as_dict()) on every corpus pass, on every hostile input of the NZ
tests and many more (tests/nzcphostile.py), and the same acceptance of the trust list's
published DID documents. No page error, no request off 127.0.0.1."""

from __future__ import annotations

import pytest
from foreigncases import Case, cases
from formatspage import (
    clean,
    js_load,
    js_verdicts,
    mismatches,
    page_fixtures,
    python_load,
)
from jsmutations import num_lookalikes
from nzcphostile import (
    TEST_KEYS,
    case,
    documents,
    edges,
    from_the_nz_tests,
    raw_claim,
    seeded,
    weird_claims,
)
from nzcppasses import EXP, NBF, OTHER_KEY, claims_with, make_pass

webcam = pytest.importorskip("webcam")

#: Every step of nzcp.py with the reasons it gives (None: the pass is valid).
EVERY_OUTCOME = {
    ("malformed", "detect"), ("malformed", "prefix"), ("malformed", "version"),
    ("malformed", "base32"), ("malformed", "cose"), ("malformed", "headers"),
    ("unsupported_algorithm", "headers"), ("malformed", "payload"),
    ("invalid_claims", "issuer"), ("unknown_key", "issuer"), ("unknown_key", "key"),
    ("key_not_valid", "key"), ("bad_signature", "signature"), ("invalid_claims", "claims"),
    ("not_yet_valid", "not_before"), ("expired", "expiry"), None}


origin, page = page_fixtures("nzcp")


def _outcome(verdict: dict) -> tuple[str, str] | None:
    return None if verdict["valid"] else (verdict["reason"], verdict["step"])


def _rounded(verdict: dict) -> dict:
    """The verdict with its times past 2**53 as doubles: the one difference JavaScript has
    (test_integers_past_two_to_the_53_are_shown_rounded)."""
    if not verdict["valid"]:
        return verdict
    code = dict(verdict["code"])
    for name in ("not_before", "expires_at"):
        if abs(code[name]) > 2**53:
            code[name] = float(code[name])
    return {**verdict, "code": code}


def _same(page, batch: list[Case]) -> set[tuple[str, str] | None]:
    """Both verifiers on ``batch``: no difference (but :func:`_rounded`), no page error, no
    request elsewhere. Returns the outcomes reached."""
    assert len({c.id for c in batch}) == len(batch)
    wrong = [(id_, want, have) for id_, want, have in mismatches(page, batch)
             if _rounded(want) != _rounded(have)]
    assert wrong == [], (len(wrong), wrong[:5])
    clean(page)
    return {_outcome(c.python()) for c in batch}


def test_every_corpus_pass(page):
    corpus = cases("nzcp")
    assert len(corpus) == 8
    assert _same(page, list(corpus)) == {
        None, ("bad_signature", "signature"), ("unknown_key", "key"), ("expired", "expiry"),
        ("not_yet_valid", "not_before"), ("malformed", "payload")}


def test_the_valid_corpus_pass_as_python_shows_it(page):
    (valid,) = (c for c in cases("nzcp") if c.id == "nzcp:valid")
    (verdict,) = js_verdicts(page, [(valid.texts, valid.keys, valid.now)])
    assert verdict == valid.python()
    assert verdict["code"]["holder"] == {"name": "Jack Sparrow", "birth_date": "1960-04-16"}
    assert verdict["code"]["shows"] == {
        "pass_type": "PublicCovidPass",
        "credential_id": "urn:uuid:60a4f54d-4e30-4332-be33-ad78b1eafa4b"}


def test_the_nz_tests_hostile_inputs(page):
    batch = from_the_nz_tests()
    assert len(batch) > 250
    _same(page, batch)


def test_edges(page):
    assert _same(page, edges()) >= {None, ("malformed", "headers"), ("invalid_claims", "claims")}


def test_every_claim_replaced_by_odd_cbor(page):
    batch = weird_claims()
    batch += [case(f"{name} lookalike {i}", raw_claim(path, raw))
              for name, path, value in (("nbf", (5,), NBF), ("exp", (4,), EXP))
              for i, raw in enumerate(num_lookalikes(value))]
    assert _same(page, batch) >= {None, ("malformed", "payload"), ("invalid_claims", "claims"),
                                  ("invalid_claims", "issuer")}


def test_seeded_mutations_and_every_bit_flipped(page):
    batch = seeded()
    assert len(batch) > 4000
    assert _same(page, batch) >= {("malformed", "base32"), ("malformed", "cose"),
                                  ("bad_signature", "signature")}


def test_every_step_is_reached(page):
    """Across the inputs, every outcome nzcp.py has is reached, in both verifiers."""
    reached = set()
    for batch in (from_the_nz_tests(), edges()):
        reached |= _same(page, batch)
    assert reached == EVERY_OUTCOME


def test_times_at_their_edges(page):
    code = make_pass()
    batch = [case(f"now {now}", code, now=now) for now in range(NBF - 3, NBF + 3)]
    batch += [case(f"now {now}", code, now=now) for now in range(EXP - 3, EXP + 3)]
    assert _same(page, batch) == {None, ("not_yet_valid", "not_before"), ("expired", "expiry")}


def test_integers_past_two_to_the_53_are_shown_rounded(page):
    """The one difference: a valid pass whose nbf or exp is no safe integer (a JSON number of
    JavaScript is a double). The verdict is the same (times compare exactly, as bigints); the
    time shown is the nearest double of Python's."""
    code = raw_claim((5,), b"\x3b" + b"\xff" * 8)  # nbf = -2**64
    (want,) = [case("nbf -2**64", code).python()]
    (have,) = js_verdicts(page, [((code,), TEST_KEYS, NBF)])
    assert want["valid"] and have["valid"]
    assert want["code"]["not_before"] == -(2**64)
    assert have["code"]["not_before"] != -(2**64)
    assert float(have["code"]["not_before"]) == float(-(2**64))
    assert {**have["code"], "not_before": None} == {**want["code"], "not_before": None}


def test_published_documents_accepted_exactly_as_python_does(page):
    members = documents()
    assert len(members) > 90
    want = {name: python_load(member) for name, member in members.items()}
    have = dict(zip(members, js_load(page, members.values()), strict=True))
    assert {name: have[name] for name in members if have[name] != want[name]} == {}
    accepted = {name for name, verdict in want.items() if verdict["valid"]}
    assert len(accepted) > 15 and len(members) - len(accepted) > 60
    assert page.errors == []


def test_keys_loaded_from_odd_but_good_documents_verify(page):
    """Documents Python accepts in unusual forms verify the passes Python verifies."""
    members = documents()
    good = [name for name in members if name.startswith("nzcp") and python_load(members[name])
            == {"valid": True} and "100" not in name]
    passes = (make_pass(), make_pass(header={4: b"key-2", 1: -7}, key=OTHER_KEY),
              make_pass(claims_with(((1,), "did:web:nzcp.covid19.health.nz"))))
    batch = [case(f"{name} {i}", text, members[name]) for name in good
             for i, text in enumerate(passes)]
    assert _same(page, batch) >= {None, ("unknown_key", "issuer"), ("key_not_valid", "key")}
