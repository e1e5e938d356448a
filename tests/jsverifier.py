"""The JavaScript verifier (verifier/static/verifier/) in a real headless Chromium, next to the
Python one: a page on 127.0.0.1 importing /shared/verifier/index.js, and helpers that run the
same cases through both and return what each said (tests/test_js_verifier.py)."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from issuer.keys.signing import sign_jws_multi
from verifier import HealthCodeError, decode_unverified, verify
from verifier.keys import b64url, key_to_jwk, thumbprint
from verifier.kiosk.verdicts import code_identity
from verifier.revocation import RevocationList, Revocations
from verifier.trust import TrustList

SHARED = Path(__file__).parent.parent / "verifier" / "static"
PAGE = "/test/verifier.html"

# `hv` on the page: the contract, plus batch runners that answer in plain JSON.
PAGE_HTML = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>verifier modules</title>
<script type="module">
import * as v from "/shared/verifier/index.js";
const unhex = (t) => Uint8Array.from(t.match(/../g) ?? [], (h) => parseInt(h, 16));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const trusts = new Map();
const lists = new Map();
function claims(c) {
  return { iss: c.iss, iat: c.iat, exp: c.exp, cti: hex(c.cti), colour: c.colour, score: c.score,
    policy: c.policy === null ? null : hex(c.policy), device_bound: c.cnf !== null,
    presented_at: c.presentedAt, kid: c.kid, alg: c.alg, static: c.static,
    id_check: c.idCheck === null ? null : { name: c.idCheck.name, id_tail: c.idCheck.idTail },
    family: c.family };
}
async function outcome(fn) {
  try { return { valid: true, reason: null, value: await fn() }; }
  catch (e) {
    if (e instanceof v.VerificationError) return { valid: false, reason: e.reason, value: null };
    return { valid: false, reason: "JS-ERROR " + e.name + ": " + e.message, value: null };
  }
}
async function loadTrust([id, jws, pin, now]) {
  const r = await outcome(async () => (await v.loadTrustList(jws, pin, now ?? 0,
    { allowExpired: now === null })));
  if (r.valid) trusts.set(id, r.value.trust);
  const t = r.value?.trust;
  return { valid: r.valid, reason: r.reason, value: t ? { pin: r.value.pin, sequence: t.sequence,
    issued_at: t.issuedAt, expires_at: t.expiresAt, issuers: t.issuers, digest: t.digest,
    names: t.issuers.map((i) => [t.issuerName(i), t.issuerName(i, "zh-CN"), t.issuerName(i, "en")]),
    keys: [...t.keys.values()].map((k) => [k.kid, k.alg, k.iss, k.notBefore, k.notAfter])
      .sort(),
    foreign: ["dcc", "shc", "nzcp"].filter((n) => t.foreign && t.foreign[n] !== null) } : null };
}
async function loadList([id, cose, trustId]) {
  const r = await outcome(() => v.loadRevocations(unhex(cose), trusts.get(trustId)));
  if (r.valid) lists.set(id, r.value);
  const l = r.value;
  return { valid: r.valid, reason: r.reason, value: l ? { iss: l.iss, sequence: l.sequence,
    issued_at: l.issuedAt, expires_at: l.expiresAt, size: l.size, digest: l.digest } : null };
}
async function check([text, trustId, now, listIds, window]) {
  const r = await outcome(async () => claims(await v.verify(text, trusts.get(trustId), now,
    listIds.map((id) => lists.get(id)), { window })));
  return { valid: r.valid, reason: r.reason, claims: r.value };
}
async function successors([kind, a, b]) {
  const r = await outcome(async () => (kind === "trust"
    ? v.checkTrustSuccessor(trusts.get(a) ?? null, trusts.get(b))
    : v.checkRevocationSuccessor(lists.get(a) ?? null, lists.get(b))));
  return { valid: r.valid, reason: r.reason };
}
function rules([texts, creds]) {
  return texts.map((t) => {
    let rule;
    try { rule = v.Rule.parse(t); } catch (e) {
      return { ok: false, error: e instanceof v.RuleError ? "RuleError" : String(e) };
    }
    return { ok: true, text: rule.text, decisions: creds.map((c) =>
      rule.decide(Array.isArray(c) ? { colour: c[0], score: c[1] } : c)) };
  });
}
async function unverified(text) {
  const r = await outcome(async () => claims(v.decodeUnverified(text)));
  return { valid: r.valid, reason: r.reason, claims: r.value, identity: v.codeIdentity(text) };
}
async function pin(anchor) {
  const r = await outcome(() => v.pinFromAnchor(anchor));
  return { valid: r.valid, reason: r.reason, pin: r.value };
}
window.hv = {
  unverifiedAll: (texts) => Promise.all(texts.map(unverified)),
  pinsAll: (anchors) => Promise.all(anchors.map(pin)),
  successorsAll: (cases) => Promise.all(cases.map(successors)), rules,
  v, hex, unhex, trusts, lists, claims, outcome,
  loadTrusts: (cases) => Promise.all(cases.map(loadTrust)),
  loadLists: (cases) => Promise.all(cases.map(loadList)),
  verifyAll: (cases) => Promise.all(cases.map(check)),
};
document.documentElement.dataset.ready = "yes";
</script>
"""


class _Handler(SimpleHTTPRequestHandler):
    """verifier/static/ under /shared/, and one page (``page``: its path and HTML); nothing
    else."""

    extensions_map = {".js": "text/javascript"}

    def __init__(self, *args, page: tuple[str, str], **kwargs) -> None:
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self):
        if self.path == self.page[0]:
            body = self.page[1].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/shared/") and ".." not in self.path:
            self.path = self.path.removeprefix("/shared")
            super().do_GET()
        else:
            self.send_error(404)

    def log_message(self, format, *args):
        pass


def serve(path: str = PAGE, html: str = PAGE_HTML) -> Iterator[str]:
    """Serve a page (the differential test's unless given) and the verifier's modules on
    127.0.0.1; yields the origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Handler, directory=str(SHARED),
                                                   page=(path, html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()



@contextlib.contextmanager
def open_page(playwright, url: str, profile: Path) -> Iterator[Any]:
    """A headless Chromium (webcam.browser) showing ``url``, once the page has set
    ``html[data-ready]``; ``page.asked`` lists the URLs it requested, ``page.errors`` the
    errors it threw."""
    import webcam

    with webcam.browser(playwright, None, profile) as context:
        asked: list[str] = []
        context.on("request", lambda request: asked.append(request.url))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("html[data-ready]", state="attached")
        page.asked = asked
        page.errors = errors
        yield page

# ---- the Python side, answering in the page's shape ----

def py_claims(c) -> dict[str, Any]:
    d = c.as_dict()
    return {"iss": d["iss"], "iat": d["iat"], "exp": d["exp"], "cti": d["cti"],
            "colour": d["colour"], "score": d["score"], "policy": d["policy"],
            "device_bound": d["device_bound"], "presented_at": d["presented_at"],
            "kid": d["kid"], "alg": d["alg"], "static": c.static,
            "id_check": (None if c.id_check is None
                         else {"name": c.id_check.name, "id_tail": c.id_check.id_tail}),
            "family": d["family"]}


def py_verify(text: Any, trust: TrustList, now: int, lists: list[RevocationList],
              window: int) -> dict[str, Any]:
    revocations = Revocations({rl.iss: rl for rl in lists})
    try:
        credential = verify(text, trust, now, revocations, window=window)
    except HealthCodeError as exc:
        return {"valid": False, "reason": exc.reason.value, "claims": None}
    return {"valid": True, "reason": None, "claims": py_claims(credential)}


def py_unverified(text: str) -> dict[str, Any]:
    """decode_unverified and the kiosk's code identity, in the page's shape."""
    try:
        got = {"valid": True, "reason": None, "claims": py_claims(decode_unverified(text))}
    except HealthCodeError as exc:
        got = {"valid": False, "reason": exc.reason.value, "claims": None}
    return {**got, "identity": code_identity(text)}


def py_trust_summary(t: TrustList) -> dict[str, Any]:
    return {"pin": b64url(t.anchor), "sequence": t.sequence, "issued_at": t.issued_at,
            "expires_at": t.expires_at, "issuers": list(t.issuers), "digest": t.digest,
            "names": [[t.issuer_name(i), t.issuer_name(i, "zh-CN"), t.issuer_name(i, "en")]
                      for i in t.issuers],
            "keys": sorted([k.kid.decode(), k.alg.jose_name, k.iss, k.not_before, k.not_after]
                           for k in t.keys.values()),
            "foreign": [n for n in ("dcc", "shc", "nzcp")
                        if t.foreign is not None and getattr(t.foreign, n) is not None]}


def py_list_summary(rl: RevocationList) -> dict[str, Any]:
    return {"iss": rl.iss, "sequence": rl.sequence, "issued_at": rl.issued_at,
            "expires_at": rl.expires_at, "size": rl.count, "digest": rl.digest}


# ---- keys and signed trust lists for the cases ----

def new_key(alg: str = "ES256"):
    return ed25519.Ed25519PrivateKey.generate() if alg == "EdDSA" else \
        ec.generate_private_key(ec.SECP256R1())


def pin_of(key) -> str:
    return b64url(thumbprint(key.public_key()))


def trust_payload(issuers: list[tuple[str, list[tuple[Any, int, int]]]], *, seq: int = 1,
                  iat: int = 0, exp: int = 2**32, anchor: str | None = None,
                  **extra: Any) -> bytes:
    """A trust list payload: ``issuers`` as (iss, [(key, nbf, exp)])."""
    doc: dict[str, Any] = {
        "typ": "healthcode-trust-list", "ver": 1, "seq": seq, "iat": iat, "exp": exp,
        "issuers": [{"iss": iss, "name": f"{iss} issuer", "keys": [
            {**key_to_jwk(k.public_key()), "nbf": nbf, "exp": until} for k, nbf, until in keys]}
            for iss, keys in issuers]}
    if anchor is not None:
        doc["anchor"] = anchor
    doc.update(extra)
    return json.dumps(doc).encode()


def signed(payload: bytes, *anchors) -> str:
    return sign_jws_multi(list(anchors), payload, "healthcode-trust-list")


__all__ = ["PAGE", "open_page", "py_claims", "py_list_summary", "py_trust_summary", "py_verify",
           "serve", "signed", "trust_payload", "new_key", "pin_of"]
