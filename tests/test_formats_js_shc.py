"""SMART Health Cards in the browser (verifier/static/verifier/formats/shc.js) against Python
(verifier/formats/shc.py) in a real headless Chromium: every corpus card, cards made here to
reach every step's refusal and every field a checkpoint shows, hostile texts (cut, flipped,
oversized, deep, a zip bomb), chunks, and the trust list's ``foreign.shc`` member mutated every
way: same verdict (reason and step, or the same code shown), every time."""

from __future__ import annotations

import copy
import json
import random
import time
from typing import Any

import pytest
import shchostile as h
from foreigncases import cases
from formatspage import (
    clean,
    js_load,
    js_verdicts,
    mismatches,
    page_fixtures,
    python_load,
    python_verdict,
)
from shccards import NOW, chunks, claims, header, jwk, qr, sign
from shcpublished import load_mutations

from verifier.formats.shc import CHUNK_CHARS, MAX_CHUNKS, MAX_TEXT_LENGTH

webcam = pytest.importorskip("webcam")
CORPUS_CASES = 37
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


origin, page = page_fixtures("shc")


def _differ(page, calls: dict[str, tuple[tuple[Any, ...], dict[str, Any], int]],
            got: list[dict[str, Any]] | None = None) -> list[Any]:
    """``(name, Python's verdict, the page's)`` for each named call they disagree on (``got``:
    the page's verdicts, when asked already)."""
    got = js_verdicts(page, calls.values()) if got is None else got
    wrong = []
    for (name, (texts, keys, now)), have in zip(calls.items(), got, strict=True):
        want = python_verdict(tuple(texts), keys, now)
        if want != have:
            wrong.append((name, want, have))
    clean(page)
    return wrong


def test_every_corpus_card(page):
    found = cases("shc")
    assert len(found) == CORPUS_CASES
    assert mismatches(page, found) == []
    clean(page)


def test_cards_made_here(page):
    made = h.cards()
    calls = {name: (texts, h.TRUSTED, NOW) for name, texts in made.items()}
    got = js_verdicts(page, calls.values())
    assert _differ(page, calls, got) == []
    # The calls reach every step's refusal and every field shown.
    steps = {(v.get("reason"), v.get("step")) for v in got}
    shows = {k for v in got if v["valid"] for k in v["code"]["shows"]}
    assert steps >= {(None, None), ("malformed", "decode"),
                     ("malformed", "jws"), ("malformed", "header"), ("malformed", "payload"),
                     ("unsupported_algorithm", "header"), ("unknown_key", "key"),
                     ("bad_signature", "signature"), ("invalid_claims", "claims"),
                     ("expired", "expiry"), ("not_yet_valid", "not_before"),
                     ("revoked", "revocation")}
    assert shows == {"doses", "vaccine", "date", "results", "test", "result", "revocation_list"}


@pytest.mark.parametrize("keys", sorted(h.KEYSETS))
def test_each_key_set(page, keys):
    texts = {"valid": h.card(), "revoked": h.card(claims(vc_rid="gone")),
             "other": h.card(claims(iss=h.OTHER_ISS), header(jwk(h.OTHER)["kid"]), h.OTHER),
             "bad iss": h.card(claims(iss=7)), "cut": h.card()[:300]}
    calls = {name: ((text,), h.KEYSETS[keys], NOW) for name, text in texts.items()}
    assert _differ(page, calls) == []


# Counts the compressed bytes given to DecompressionStream, for the bomb's test.
_COUNT_FED = """() => {
  const Real = DecompressionStream;
  window.fed = 0;
  window.DecompressionStream = class {
    constructor(format) {
      const inner = new Real(format);
      const count = new TransformStream({ transform(chunk, out) {
        window.fed += chunk.length; out.enqueue(chunk); } });
      count.readable.pipeTo(inner.writable).catch(() => {});
      this.writable = count.writable;
      this.readable = inner.readable;
    }
  };
  return Real;
}"""


def test_a_zip_bomb_is_refused_reading_little_of_it(page):
    bomb = h._bomb()
    text = h.card(bomb)
    assert len(text) < MAX_TEXT_LENGTH
    real = page.evaluate_handle(_COUNT_FED)
    try:
        started = time.monotonic()
        assert js_verdicts(page, [((text,), h.TRUSTED, NOW)]) == [
            {"valid": False, "reason": "malformed", "step": "payload"}]
        assert time.monotonic() - started < 5
        fed = page.evaluate("() => window.fed")
    finally:
        page.evaluate("(real) => { window.DecompressionStream = real; }", real)
    # 64 KiB of output is ~70 bytes of this bomb: a few slices of 256 bytes are read, not 15 KB.
    assert 0 < fed <= 2048 < len(bomb)
    clean(page)


def test_any_change_to_a_card(page):
    rng = random.Random(19)
    text = h.card()
    calls = {}
    for i in range(300):
        at = rng.randrange(5, len(text))
        calls[f"flip {i}"] = ((text[:at] + rng.choice("0123456789/x") + text[at + 1:],),
                              h.TRUSTED, NOW)
    for i in range(100):
        at = rng.randrange(5, len(text))
        calls[f"cut {i}"] = ((text[:at] + text[at + 2 * rng.randrange(1, 4):],), h.TRUSTED, NOW)
    assert _differ(page, calls) == []


@pytest.mark.parametrize("text", [
    "", "shc:/", "shc:", "SHC:/5676", "shc:/56x76", "shc:/567", "shc:/99", "shc:/\u0665\u0666",
    "shc:/0/1/5676", "shc:/1/2/5676", "shc:/2/1/5676", "shc:/1//5676", "shc:/1/1/567",
    "shc:/01/1/5676", "shc:/1/1/", "shc:/5676\n", " shc:/5676\u3000", "\u200bshc:/5676",
    "shc:/" + "5" * (MAX_TEXT_LENGTH - 5), "shc:/" + "5" * (MAX_TEXT_LENGTH - 3),
    "shc:/" + "\U0001f600" * (MAX_TEXT_LENGTH - 6), "shc:/" + "56" * 500_000,
    "shc:/" + "00" * 10, "shc:/" + "11" * 10 + "01" + "11" * 10 + "01" + "11",
], ids=lambda t: f"{t[:20]!r}:{len(t)}")
def test_texts_that_are_no_card(page, text):
    assert _differ(page, {"text": ((text,), h.TRUSTED, NOW)}) == []


@pytest.mark.parametrize("text", [None, 5676, ["shc:/56"]], ids=repr)
def test_what_is_no_text(page, text):
    assert _differ(page, {"text": ((text,), h.TRUSTED, NOW)}) == []


def _chunk(jws: str, index: int, total: int, start: int, end: int) -> str:
    return f"shc:/{index}/{total}/" + qr(jws[start:end])[5:]


def _chunk_calls() -> dict[str, Any]:
    parts = chunks(h.JWS, 3)
    rng = random.Random(7)
    big = sign(h.KEY, header(h.KID), claims(pad="".join(rng.choice(ALPHABET) for _ in range(9000))))
    mid = sign(h.KEY, header(h.KID), claims(pad="".join(rng.choice(ALPHABET) for _ in range(1500))))
    picks: dict[str, list[Any]] = {
        **{f"order {o}": [parts[i] for i in o] for o in ((0, 1, 2), (2, 0, 1), (1, 2, 0))},
        "missing": parts[:2], "twice": [parts[0], parts[1], parts[1]],
        "extra": [*parts, parts[2]], "out of range": [parts[0], parts[1],
                                                       parts[2].replace("/3/3/", "/4/3/")],
        "other total": [parts[0], parts[1], parts[2].replace("/3/3/", "/3/4/")],
        "index 0": [parts[0], parts[1], parts[2].replace("/3/3/", "/0/3/")],
        "odd": [parts[0], parts[1], parts[2] + "1"], "not digits": [*parts[:2], parts[2] + "x"],
        "complete among chunks": [parts[0], parts[1], "shc:/" + parts[2].split("/")[-1]],
        "not text": [parts[0], parts[1], 7], "none": [], "too many": parts * 7,
        "padded": [parts[0], parts[1], parts[2] + "\n"],
        "one chunk of 1": [qr(h.JWS).replace("shc:/", "shc:/1/1/")],
        "one of two": [parts[0]], "pair 78": [parts[0], parts[1], parts[2] + "78"],
        "max chunks": chunks(big, MAX_CHUNKS), "chunk too big": chunks(big, 3),
        "two cards": [parts[0], chunks(sign(h.KEY, header(h.KID), claims(nbf=1)), 3)[1],
                      parts[2]],
        "chunk over the text bound": [parts[0], parts[1], parts[2] + "0" * MAX_TEXT_LENGTH],
        "21 chunks": chunks(big, MAX_CHUNKS + 1),
        **{f"first chunk of {n}": [_chunk(mid, 1, 2, 0, n), _chunk(mid, 2, 2, n, len(mid))]
           for n in (CHUNK_CHARS, CHUNK_CHARS + 1)},
    }
    return {name: (texts, h.TRUSTED, NOW) for name, texts in picks.items()}


def test_chunks(page):
    calls = _chunk_calls()
    got = js_verdicts(page, calls.values())
    assert _differ(page, calls, got) == []
    assert [name for name, v in zip(calls, got, strict=True) if v["valid"]] == [
        "order (0, 1, 2)", "order (2, 0, 1)", "order (1, 2, 0)", "one chunk of 1", "max chunks",
        f"first chunk of {CHUNK_CHARS}"]


# The trust list's foreign.shc member, mutated: loadKeys accepts exactly what from_published does.

def test_the_published_member_mutated(page):
    members = load_mutations()
    got = js_load(page, members.values())
    wrong = [(name, python_load(m), g) for (name, m), g in zip(members.items(), got, strict=True)
             if python_load(m) != g]
    assert wrong == []
    assert 20 < sum(not g["valid"] for g in got) < len(got) - 10
    clean(page)


@pytest.mark.parametrize("count", [200_000, 200_001])
def test_the_revoked_id_bound(page, count):
    member = copy.deepcopy(h.TRUSTED)
    extra = copy.deepcopy(h.published((h.OTHER_ISS, json.dumps({"keys": [jwk(h.OTHER)]}).encode(),
                                       None))["shc"][0])
    extra["crls"] = [{"kid": jwk(h.OTHER)["kid"], "ctr": 1,
                      "rids": {f"r{i}": None for i in range(count - 2)}}]
    member["shc"].append(extra)
    assert js_load(page, [member]) == [python_load(member)]
    clean(page)
