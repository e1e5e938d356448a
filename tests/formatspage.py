"""The foreign formats' JavaScript verifiers (verifier/static/verifier/formats/) next to the
Python ones: a page on 127.0.0.1 that imports /shared/verifier/formats/index.js and verifies
batches of cases (tests/foreigncases.py), each answered in the shape of
:func:`foreigncases.verdict`: ``{"valid": true, "code": {...}}`` or ``{"valid": false, "reason",
"step"}``. A JavaScript error that is not a VerificationError answers ``JS-ERROR ...``: never
what Python says."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from foreigncases import Case, verdict
from jsverifier import open_page, serve

from verifier.errors import HealthCodeError, Reason, TrustListError
from verifier.formats import ForeignTrust
from verifier.formats.published import from_published
from verifier.jws import loads_json

PAGE = "/test/formats.html"

PAGE_HTML = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>formats</title>
<script type="module">
import * as f from "/shared/verifier/formats/index.js";
import { joinChunks } from "/shared/verifier/formats/shc.js";
import { TrustListError, VerificationError } from "/shared/verifier/errors.js";
import { DecodeError, loadsJson, plainJson } from "/shared/verifier/decode.js";
const loaded = new Map();
function refusal(e) {
  if (e instanceof VerificationError && typeof e.reason === "string") {
    return { valid: false, reason: e.reason, step: (e.context || {}).step ?? null };
  }
  return { valid: false, reason: `JS-ERROR ${e && e.name}: ${e && e.message}`, step: null };
}
// The keys are read as a trust list's are (trust.js): loadsJson, objects made plain.
function read(json) {
  try { return plainJson(loadsJson(json)); } catch (e) {
    if (e instanceof DecodeError) throw new TrustListError("trust_list_malformed");
    throw e;
  }
}
async function load(keys) {
  if (!loaded.has(keys)) loaded.set(keys, f.loadForeign(read(keys)));
  return loaded.get(keys);
}
async function one({ keys, texts, now }) {
  try {
    const trust = await load(keys);
    const text = texts.length === 1 ? texts[0] : joinChunks(texts);
    return { valid: true, code: await f.verifyForeign(text, trust, now) };
  } catch (e) {
    return refusal(e);
  }
}
async function loadOnly(keys) {
  try { await f.loadForeign(read(keys)); } catch (e) { return refusal(e); }
  return { valid: true };
}
async function run(json) {
  const out = [];
  for (const c of JSON.parse(json)) out.push(await one(c));
  return JSON.stringify(out);
}
async function runLoad(json) {
  return JSON.stringify(await Promise.all(JSON.parse(json).map(loadOnly)));
}
window.formats = { run, runLoad, f };
document.documentElement.dataset.ready = "yes";
</script>
"""


def serve_page():
    """Serve the page and verifier/static under /shared/ on 127.0.0.1; yields the origin."""
    yield from serve(PAGE, PAGE_HTML)


def page_fixtures(name: str) -> tuple[Any, Any]:
    """The module-scoped ``origin`` and ``page`` fixtures of a test module
    (``origin, page = page_fixtures("dcc")``)."""

    @pytest.fixture(scope="module")
    def origin() -> Iterator[str]:
        yield from serve_page()

    @pytest.fixture(scope="module")
    def page(origin, playwright, tmp_path_factory) -> Iterator[object]:
        with open_page(playwright, origin + PAGE, tmp_path_factory.mktemp(name)) as page:
            page.origin = origin
            yield page

    return origin, page


def clean(page) -> None:
    """No error on the page, no request off its origin."""
    assert page.errors == []
    assert all(url.startswith(page.origin + "/") for url in page.asked), page.asked


def js_verdicts(page, calls: Iterable[tuple[tuple[str, ...], dict[str, Any], int]]
                ) -> list[dict[str, Any]]:
    """What the page says of each ``(texts, keys, now)``."""
    batch = [{"texts": list(texts), "keys": json.dumps(keys, sort_keys=True), "now": now}
             for texts, keys, now in calls]
    return json.loads(page.evaluate("(b) => window.formats.run(b)", json.dumps(batch)))


def js_load(page, members: Iterable[Any]) -> list[dict[str, Any]]:
    """What the page's ``loadForeign`` says of each ``foreign`` member: ``{"valid": true}`` or
    the refusal."""
    batch = [json.dumps(member) for member in members]
    return json.loads(page.evaluate("(b) => window.formats.runLoad(b)", json.dumps(batch)))


def read_published(member: Any) -> ForeignTrust:
    """Python's keys of a ``foreign`` member read as the trust list reads it (``loads_json``:
    its integers, depth and duplicate keys), as the page reads it. Raises TrustListError."""
    try:
        parsed = loads_json(json.dumps(member))
    except (ValueError, RecursionError):
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, "not JSON a verifier reads") from None
    return from_published(parsed)


def python_load(member: Any) -> dict[str, Any]:
    """What :func:`read_published` says of ``member``, in :func:`js_load`'s shape."""
    try:
        read_published(member)
    except HealthCodeError as exc:
        return {"valid": False, "reason": exc.reason.value, "step": exc.context.get("step")}
    return {"valid": True}


def python_verdict(texts: tuple[str, ...], keys: Any, now: int) -> dict[str, Any]:
    """Python's verdict on ``texts`` with the keys of the member ``keys`` (one it refuses: the
    page's refusal of it, ``trust_list_malformed``)."""
    try:
        trust = read_published(keys)
    except HealthCodeError as exc:
        return {"valid": False, "reason": exc.reason.value, "step": exc.context.get("step")}
    return verdict(texts, trust, now)


def mismatches(page, cases: Iterable[Case]) -> list[tuple[str, Any, Any]]:
    """``(case id, Python's verdict, the page's)`` for every case on which they differ."""
    cases = list(cases)
    got = js_verdicts(page, ((c.texts, c.keys, c.now) for c in cases))
    return [(c.id, want, have) for c, want, have in
            zip(cases, (python_verdict(c.texts, c.keys, c.now) for c in cases), got,
                strict=True) if want != have]
