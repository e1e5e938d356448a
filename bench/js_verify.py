"""The JavaScript verifier (verifier/static/verifier/) in headless Chromium: the median time of
``verify`` per static code (HCC1) and per live code (HCP1), and of ``loadTrustList``, each as a
ratio against WebCrypto's bare signature check of the same bytes in the same run (one ES256
verify for HCC1, two for HCP1, one for the trust list).

Rounds of back-to-back calls, awaited one by one, as the checkpoint app makes them; the page
is served from 127.0.0.1 like the tests' (tests/jsverifier.py). Not pinned to one core: the
browser runs in its own processes.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import issue_credential, sign_jws, sign_raw
from verifier.base45 import b45decode
from verifier.keys import b64url, key_to_jwk, thumbprint
from verifier.presentation import cnf_for, encode_presentation, presentation_message

from . import report
from .timing import Settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
NOW = 1_795_500_000
PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
import * as v from "/shared/verifier/index.js";
import { sigStructure, decodeSign1 } from "/shared/verifier/cose.js";
import * as base45 from "/shared/verifier/base45.js";
const ECDSA = { name: "ECDSA", hash: "SHA-256" };
async function rounds(n, batch, fn) {
  const samples = [];
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    samples.push((performance.now() - t0) / batch);
  }
  return samples;
}
window.bench = async ({ jws, pin, hcc, hcp, jwk, phone, rounds: n, batch }) => {
  const { trust } = await v.loadTrustList(jws, pin, 1795500000);
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" },
                                            false, ["verify"]);
  const phoneKey = await crypto.subtle.importKey("jwk", phone,
    { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const outer = decodeSign1(base45.decode(hcc.slice(5)));
  const message = sigStructure(outer.protected, outer.payload);
  const live = decodeSign1(base45.decode(hcp.slice(5)));
  const inner = decodeSign1(live.payload);
  const liveMessage = sigStructure(live.protected, live.payload);
  const innerMessage = sigStructure(inner.protected, inner.payload);
  const jwsDoc = JSON.parse(jws);
  const enc = new TextEncoder().encode(jwsDoc.protected + "." + jwsDoc.payload);
  const jwsSig = Uint8Array.from(atob(jwsDoc.signature.replace(/-/g, "+").replace(/_/g, "/")),
                                 (c) => c.charCodeAt(0));
  const anchorJwk = JSON.parse(atob(jwsDoc.protected.replace(/-/g, "+").replace(/_/g, "/"))).jwk;
  const anchor = await crypto.subtle.importKey("jwk", anchorJwk,
    { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = [await v.verify(hcc, trust, 1795500000), await v.verify(hcp, trust, 1795500000)];
  if (ok[1].presentedAt === null) throw new Error("not live");
  return {
    bare: await rounds(n, batch, () => crypto.subtle.verify(ECDSA, key, outer.signature, message)),
    hcc: await rounds(n, batch, () => v.verify(hcc, trust, 1795500000)),
    bare2: await rounds(n, batch, async () => {
      await crypto.subtle.verify(ECDSA, key, inner.signature, innerMessage);
      await crypto.subtle.verify(ECDSA, phoneKey, live.signature, liveMessage);
    }),
    hcp: await rounds(n, batch, () => v.verify(hcp, trust, 1795500000)),
    bareJws: await rounds(n, batch, () => crypto.subtle.verify(ECDSA, anchor, jwsSig, enc)),
    trust: await rounds(n, batch, () => v.loadTrustList(jws, pin, 1795500000)),
  };
};
document.documentElement.dataset.ready = "yes";
</script>"""


def _jsverifier():
    """tests/jsverifier.py: it serves a page and the verifier's modules, as the test does."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import jsverifier
    finally:
        sys.path.pop(0)
    return jsverifier


def _inputs() -> dict:
    anchor, issuer, phone = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    jwk = key_to_jwk(issuer.public_key())
    doc = {"typ": "healthcode-trust-list", "ver": 1, "seq": 1, "iat": NOW - 86400,
           "exp": NOW + 86400, "issuers": [{"iss": "HZ", "name": "Hangzhou", "keys": [
               {**jwk, "nbf": NOW - 86400, "exp": NOW + 86400}]}]}
    jws = sign_jws(anchor, json.dumps(doc).encode(), "healthcode-trust-list")
    hcc = issue_credential(issuer, iss="HZ", colour="green", score=87, iat=NOW - 60, ttl=86400)
    bound = issue_credential(issuer, iss="HZ", colour="green", score=87, iat=NOW - 60,
                             ttl=86400, cnf=cnf_for(phone.public_key()))
    credential = b45decode(bound[5:])
    hcp = encode_presentation(credential, NOW - 5,
                              sign_raw(phone, presentation_message(credential, NOW - 5)))
    public = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}
    phone_jwk = {k: v for k, v in key_to_jwk(phone.public_key()).items()
                 if k in ("kty", "crv", "x", "y")}
    return {"jws": jws, "pin": b64url(thumbprint(anchor.public_key())), "hcc": hcc, "hcp": hcp,
            "jwk": public, "phone": phone_jwk}


def run(settings: Settings) -> report.Section:
    from playwright.sync_api import sync_playwright

    serving = _jsverifier().serve("/bench.html", PAGE)
    origin = next(serving)
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"{origin}/bench.html")
            page.wait_for_selector("html[data-ready]", state="attached")
            args = {**_inputs(), "rounds": settings.rounds,
                    "batch": max(5, int(settings.batch_seconds * 5000))}
            samples = page.evaluate("(a) => bench(a)", args)
            browser.close()
    finally:
        serving.close()  # the generator's finally: the server stops
    med = {name: statistics.median(values) for name, values in samples.items()}
    rows = [
        ["`verify` static code (HCC1)", f"{med['hcc'] * 1000:.0f} µs",
         f"{med['hcc'] / med['bare']:.2f} × one bare ES256 verify ({med['bare'] * 1000:.0f} µs)"],
        ["`verify` live code (HCP1)", f"{med['hcp'] * 1000:.0f} µs",
         f"{med['hcp'] / med['bare2']:.2f} × two bare ES256 verifies "
         f"({med['bare2'] * 1000:.0f} µs)"],
        ["`loadTrustList` (one issuer key)", f"{med['trust'] * 1000:.0f} µs",
         f"{med['trust'] / med['bareJws']:.2f} × one bare ES256 verify "
         f"({med['bareJws'] * 1000:.0f} µs)"],
    ]
    body = ("## JavaScript verifier in Chromium\n\n" + __doc__.split("\n\n")[0] + "\n\n"
            + report.table(["call", "median", "against WebCrypto alone"], rows, align="lrl"))
    return report.Section(body, [[f"JS {r[0]}", r[1], r[2]] for r in rows])


if __name__ == "__main__":
    print(run(Settings()).body)
