"""The foreign formats' JavaScript verifiers (verifier/static/verifier/formats/) in headless
Chromium, each as a multiple of WebCrypto doing the bare cryptography of the same bytes in the
same run: ``verifyForeign`` per code of each format against one bare signature check;
``loadForeign`` of a realistic ``foreign`` member against importing its keys bare.

The member is what an authority trusting the EU gateway carries (:func:`member`): 3,000
document signers (80 % P-256, 20 % RSA 2048, as the gateway's), 20 SMART Health Card issuers
with two keys each and the NZ DID document; the codes are the corpora's (bench/foreign.py) and
their keys are in it. Candidate and baseline alternate round by round (which goes first too);
a figure is the median of the per-round ratios. A first use (``cold``) is timed on a member
loaded just before, holding that code's keys only. The browser may use every core, as a
phone's does (WebCrypto works on a thread of its own).
"""

from __future__ import annotations

import base64
import json
import random
import statistics
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verifier import verify
from verifier.cose import sig_structure
from verifier.formats import ForeignTrust, dcc, nzcp, shc
from verifier.formats.base import combined
from verifier.formats.published import to_published
from verifier.keys import b64url, b64url_decode, thumbprint

from . import machine, report
from .foreign import _dcc, _nzcp, _shc
from .js_verify import CHROMIUM, _jsverifier
from .timing import Settings

SIGNERS = 3_000
RSA_SHARE = 0.2
SHC_ISSUERS = 20
_SEED = 20261206
PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
import * as f from "/shared/verifier/formats/index.js";
import { loadsJson, plainJson } from "/shared/verifier/decode.js";
const unb64 = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
const ALGS = {
  "P-256": { name: "ECDSA", namedCurve: "P-256" }, RSA: { name: "RSA-PSS", hash: "SHA-256" },
  ES256: { name: "ECDSA", hash: "SHA-256" }, PS256: { name: "RSA-PSS", saltLength: 32 },
};
async function timed(batch, fn) {
  globalThis.gc();  // the garbage of what ran before is not this batch's to collect
  const t0 = performance.now();
  for (let i = 0; i < batch; i++) await fn(i);
  return (performance.now() - t0) / batch;
}
// Baseline and candidate in alternate order, round by round, after a batch of each to warm
// up: [bare ms, candidate ms] a round. `before` runs before each batch of `call`, untimed.
async function paired(rounds, batch, bare, call, before = async () => {}) {
  await before();
  await timed(batch, bare);
  await timed(batch, call);
  const out = [];
  for (let r = 0; r < rounds; r++) {
    await before();
    const b = r % 2 ? null : await timed(batch, bare);
    const c = await timed(batch, call);
    out.push([b ?? await timed(batch, bare), c]);
  }
  return out;
}
window.bench = async ({ member, imports, cases, rounds, batch, loadRounds }) => {
  const text = JSON.stringify(member);
  const keys = imports.map(([format, data, alg]) => [format, unb64(data), ALGS[alg]]);
  const bareImport = () => Promise.all(keys.map(([format, data, alg]) =>
    crypto.subtle.importKey(format, data, alg, false, ["verify"])));
  const trust = await f.loadForeign(member);
  const out = {
    load: await paired(loadRounds, 1, bareImport, () => f.loadForeign(member)),
    parse: await paired(loadRounds, 1, () => JSON.parse(text), () => plainJson(loadsJson(text))),
  };
  for (const c of cases) {
    const [message, signature, spki] = [c.message, c.signature, c.spki].map(unb64);
    const importAlg = ALGS[c.alg === "ES256" ? "P-256" : "RSA"];
    const key = await crypto.subtle.importKey("spki", spki, importAlg, false, ["verify"]);
    const check = (k) => crypto.subtle.verify(ALGS[c.alg], k, signature, message);
    if (!await check(key)) throw new Error(`${c.name}: the bare check fails`);
    await f.verifyForeign(c.text, trust, c.now);  // a valid code, or this throws
    out[c.name] = await paired(rounds, batch, () => check(key),
                               () => f.verifyForeign(c.text, trust, c.now));
    let fresh = [];
    out[`${c.name} cold`] = await paired(rounds, Math.max(1, batch >> 2),
      async () => check(await crypto.subtle.importKey("spki", spki, importAlg, false, ["verify"])),
      (i) => f.verifyForeign(c.text, fresh[i], c.now),
      async () => { fresh = await Promise.all(Array.from({ length: Math.max(1, batch >> 2) },
                                                        () => f.loadForeign(c.own))); });
  }
  return out;
};
document.documentElement.dataset.ready = "yes";
</script>"""


def _spki(key: Any) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _signers(rng: random.Random) -> list[dict[str, Any]]:
    """The gateway's document signers as a trust list publishes them. An RSA signer's modulus
    is a random odd 2,048-bit number, not a product of two primes: importing a public key never
    factors it (the cost is the same), and 600 real RSA keys would take a minute to make."""
    entries = []
    for i in range(SIGNERS):
        if i % round(1 / RSA_SHARE) == 0:
            modulus = rng.getrandbits(2048) | 1 << 2047 | 1
            key = rsa.RSAPublicNumbers(65537, modulus).public_key()
        else:
            key = ec.generate_private_key(ec.SECP256R1()).public_key()
        entries.append({"kid": base64.b64encode(rng.randbytes(8)).decode(),
                        "country": rng.choice(["DE", "FR", "IT", "NL", "AT", None]),
                        "spki": base64.b64encode(_spki(key)).decode(),
                        "nbf": 1_600_000_000, "exp": 1_900_000_000,
                        "types": rng.choice([[], ["vaccination"], ["test", "recovery"]])})
    return entries


def _shc_issuers() -> list[dict[str, Any]]:
    issuers = []
    for i in range(SHC_ISSUERS):
        keys = []
        for _ in range(2):
            numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
            keys.append({"kid": b64url(thumbprint(ec.EllipticCurvePublicNumbers(
                numbers.x, numbers.y, ec.SECP256R1()).public_key())),
                "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big"))})
        issuers.append({"iss": f"https://issuer{i}.example/shc", "keys": keys, "crls": []})
    return issuers


def member(corpus: ForeignTrust) -> dict[str, Any]:
    """The ``foreign`` member the bench loads: :func:`_signers`, :func:`_shc_issuers` and the
    corpus codes' own keys (``corpus``)."""
    own = to_published(corpus)
    return {"dcc": _signers(random.Random(_SEED)) + own["dcc"],
            "shc": _shc_issuers() + own["shc"], "nzcp": own["nzcp"]}


def _imports(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every key of ``doc`` as ``[format, base64, algorithm]`` for a bare importKey."""
    rsa_prefix = base64.b64encode(_spki(rsa.RSAPublicNumbers(65537, (1 << 2047) | 1)
                                        .public_key()))[:20].decode()
    out = [("spki", e["spki"], "RSA" if e["spki"].startswith(rsa_prefix) else "P-256")
           for e in doc["dcc"]]
    points = [(k["x"], k["y"]) for issuer in doc["shc"] for k in issuer["keys"]]
    points += [(m["publicKeyJwk"]["x"], m["publicKeyJwk"]["y"])
               for d in doc["nzcp"] for m in d["verificationMethod"]]
    raw = [b"\x04" + b64url_decode(x) + b64url_decode(y) for x, y in points]
    return out + [("raw", base64.b64encode(point).decode(), "P-256") for point in raw]


def _bare(text: str, trust: ForeignTrust, now: int) -> tuple[bytes, bytes, Any]:
    """``(message, signature, public key)`` of a code's signature, read by the Python
    verifier's own readers."""
    code = verify(text, None, now, foreign=trust)
    if text.startswith("HC1:"):
        envelope = dcc.open_envelope(text)
        assert trust.dcc is not None
        return (sig_structure(envelope.protected, envelope.payload), envelope.signature,
                trust.dcc.by_kid(envelope.kid or b"")[0].public_key)
    if text.startswith("shc:/"):
        head, payload, signature = shc.jws_of(text).split(".")
        assert trust.shc is not None
        return (f"{head}.{payload}".encode(), b64url_decode(signature),
                trust.shc.key(code.issuer, code.kid).public_key)
    read = nzcp.decode_unverified(text)
    assert trust.nzcp is not None
    return (sig_structure(read.protected, read.payload), read.signature,
            trust.nzcp.key(code.issuer, read.kid))


CASES = [("EU DCC (`HC1:`), ES256", "ES256", lambda: _dcc("CO3.json")),
         ("EU DCC (`HC1:`), PS256, RSA 2048", "PS256", lambda: _dcc("CO1.json")),
         ("SMART Health Card (`shc:/`), ES256", "ES256", _shc),
         ("NZ COVID Pass (`NZCP:/`), ES256", "ES256", _nzcp)]


def inputs(settings: Settings) -> dict[str, Any]:
    """What the page's ``bench`` takes."""
    cases, owns = [], []
    for name, alg, make in CASES:
        text, trust, now, _ = make()
        message, signature, key = _bare(text, trust, now)
        cases.append({"name": name, "alg": alg, "text": text, "now": now,
                      "own": to_published(trust),
                      **{k: base64.b64encode(v).decode() for k, v in
                         (("message", message), ("signature", signature),
                          ("spki", _spki(key)))}})
        owns.append(trust)
    doc = member(combined(*owns))
    return {"member": doc, "imports": _imports(doc), "cases": cases,
            "rounds": settings.rounds, "batch": max(8, int(settings.batch_seconds * 2500)),
            "loadRounds": settings.slow_rounds}


def _ratio(pairs: list[list[float]]) -> tuple[float, float, float]:
    """``(candidate ms, bare ms, candidate/bare)``: medians, the ratio of the rounds'."""
    return (statistics.median(c for _, c in pairs), statistics.median(b for b, _ in pairs),
            statistics.median(c / b for b, c in pairs))


def _measure(args: dict[str, Any]) -> dict[str, list[list[float]]]:
    from playwright.sync_api import sync_playwright

    serving = _jsverifier().serve("/bench.html", PAGE)
    origin = next(serving)
    try:
        with machine.unpinned(), sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu",
                                                   "--js-flags=--expose-gc"])
            page = browser.new_page()
            page.goto(f"{origin}/bench.html")
            page.wait_for_selector("html[data-ready]", state="attached")
            samples = page.evaluate("(a) => bench(a)", args)
            browser.close()
    finally:
        serving.close()  # the generator's finally: the server stops
    return samples


def run(settings: Settings) -> report.Section:
    args = inputs(settings)
    samples = _measure(args)
    rows = []
    for name, alg, _ in CASES:
        for label, key, bare in ((f"`verifyForeign` {name}", name, f"one bare {alg} verify"),
                                 ("… first use after a load", f"{name} cold",
                                  f"bare importKey + {alg} verify")):
            call, base, ratio = _ratio(samples[key])
            rows.append([label, f"{call * 1000:.0f} µs", f"**{ratio:.2f}** × {bare} "
                         f"({base * 1000:.0f} µs)"])
    keys = len(args["imports"])
    call, base, ratio = _ratio(samples["load"])
    rows.append([f"`loadForeign`, {keys:,} keys ({len(args['member']['dcc']):,} EU signers)",
                 f"{call:.1f} ms ({call * 1000 / keys:.1f} µs a key)",
                 f"**{ratio:.2f}** × {keys:,} bare importKey ({base:.1f} ms)"])
    call, base, ratio = _ratio(samples["parse"])
    size = len(json.dumps(args["member"]))
    rows.append([f"`loadsJson` + `plainJson` of that member ({size / 1e6:.2f} MB)",
                 f"{call:.1f} ms", f"**{ratio:.2f}** × `JSON.parse` ({base:.1f} ms)"])
    body = ("## The foreign formats in the browser\n\n" + __doc__.split("\n\n")[0] + "\n\n"
            + report.table(["call", "median", "against WebCrypto alone"], rows, align="lrl"))
    summary = [[f"JS {r[0]}", r[1], r[2].replace("**", "")] for r in rows
                if not r[0].startswith("…")]
    return report.Section(body, summary)


if __name__ == "__main__":
    print(run(Settings()).body)
